"""The kernel's half of the grading boundary: hand the student's work over as data.

The trusted process (:mod:`autograder.verdict`) sends one short call per
request, with an exchange folder it made for that request:

* :func:`fetch` writes the value of one of the notebook's names
  (``{"missing": true}`` when it is not defined);
* :func:`call` calls a function it handed out earlier, with the arguments the
  trusted process wrote, and writes its result (or the error it raised);
* :func:`push` sets names in the notebook: what a test cell assigned, so later
  cells can use it, as when the cell ran here;
* :func:`forget` drops the handles of one test cell.

This module runs beside the student's code, which can change anything in it.
That is harmless: what comes back is only ever read as data
(:mod:`autograder.crossing`), and the verdict is computed in the trusted
process.
"""

from __future__ import annotations

import os

from . import crossing

_handles: dict[int, object] = {}
_ids: dict[int, int] = {}


def _namespace() -> dict:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        return shell.user_ns
    import __main__

    return vars(__main__)


def _handle(obj) -> int:
    key = id(obj)
    if key not in _ids:
        _ids[key] = len(_handles) + 1
        _handles[_ids[key]] = obj
    return _ids[key]


def _write(value, folder: str) -> None:
    crossing.write(value, folder, handle=_handle, of=_handle(value))


def _read(folder: str):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return crossing.Reader(fd, owner=None, resolve=_handles.__getitem__, safe=False).value()
    finally:
        os.close(fd)


def fetch(name: str, folder: str) -> None:
    namespace = _namespace()
    if name not in namespace:
        crossing.write_envelope({"missing": True}, folder)
        return
    _write(namespace[name], folder)


def call(handle: int, folder: str) -> None:
    function = _handles[handle]
    args, kwargs = _read(folder)
    try:
        result = function(*args, **kwargs)
    except Exception as err:  # the student's error, reported as data
        crossing.write_envelope({"raised": [type(err).__name__, str(err)[:2000]]}, folder)
        return
    _write(result, folder)


def push(folder: str) -> None:
    _namespace().update(_read(folder))


def forget() -> None:
    _handles.clear()
    _ids.clear()
