"""What crosses between the student's kernel and the grader's trusted process: values as data.

Both sides use this module: the kernel (:mod:`autograder.kernel_side`) to write
the student's values and function results, the trusted process
(:mod:`autograder.verdict`) to read them and to write the arguments of remote
calls. A value becomes a small JSON tree plus files in one exchange folder:

========================  ==============================================================
student's value           crosses as (and comes back as, in the trusted process)
========================  ==============================================================
None, bool, int, float,   JSON
str
list, tuple, dict         JSON of their items (keys too), to a depth of 20
NumPy array or scalar,    a ``.npy`` file, read with ``allow_pickle=False``; a plain
tensor                    ``numpy.ndarray`` (a subclass loses its methods)
pandas Series/DataFrame   its index, columns and one array per column
Keras model               its configuration (JSON) and weights (``.npy``), rebuilt with
                          ``safe_mode=True`` from Keras' own layers (and the course's
                          registered ones) only: a Lambda layer or a class defined in the
                          notebook is refused
function                  a handle: calling it in the trusted process calls the function
                          in the kernel, its arguments and result crossing the same way
an object of the course   its fields, put into a genuine instance of that class
(a dataclass in course.*)
anything else             :class:`CouldNotCross`: any use of it fails the test, saying what
                          to return instead
========================  ==============================================================

Reading never trusts the kernel: a file name is a plain name inside the folder,
opened without following links, a regular file owned by the kernel's user,
below a size limit; a tree is checked node by node. Nothing the kernel wrote
is executed or unpickled.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import stat

import numpy as np

MAX_DEPTH = 20
MAX_ITEMS = 1_000_000  # items in one tree (list elements, dict entries ...)
MAX_FILE_BYTES = 4 << 30  # one array or weight file
MAX_JSON_BYTES = 64 << 20  # a tree or a model configuration
TREE = "tree.json"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}\.(npy|json)")
KERAS_MODULES = ("keras",)
COURSE_PACKAGE = "course"


class CrossingError(ValueError):
    """What the kernel sent is not valid data (the test that asked for it fails with this message)."""


class CouldNotCross:
    """A value that could not cross as data. Any use of it fails the test with ``message``."""

    __slots__ = ("_message",)

    def __init__(self, message: str):
        object.__setattr__(self, "_message", message)

    def _fail(self, *args, **kwargs):
        raise AssertionError(object.__getattribute__(self, "_message"))

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        self._fail()

    def __repr__(self) -> str:
        return "<not gradable: " + object.__getattribute__(self, "_message") + ">"

    __call__ = __iter__ = __len__ = __getitem__ = __bool__ = __eq__ = __ne__ = __lt__ = __le__ = _fail
    __gt__ = __ge__ = __float__ = __int__ = __index__ = __array__ = __contains__ = __hash__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _fail


HINTS = {
    "generator": "return a list or an array (list(...) of it)",
    "function": "return the function's result, not the function",
    "file": "return what you read from the file, not the open file",
    "model": "build the model from Keras' own layers: no Lambda layer, no layer or model class of your own",
}


def uncrossable_message(what: str, kind: str, hint: str = "") -> str:
    return (
        f"{what} is {kind}, which the grader cannot take from your notebook. It takes numbers, strings, lists, "
        "dicts, NumPy arrays, pandas tables, Keras models built from Keras layers, the course's result objects, "
        "and functions that return those" + (f": {hint}." if hint else ".")
    )


# ----------------------------------------------------------------------------------------------
# writing


class Writer:
    """Writes values into ``folder``; ``handle(obj)`` gives a function's handle (kernel side only)."""

    def __init__(self, folder: str, handle=None, reference=None):
        self.folder, self.handle, self.reference = folder, handle, reference
        self.files = 0

    def _file(self, suffix: str) -> str:
        self.files += 1
        return f"f{self.files}.{suffix}"

    def save_array(self, array: np.ndarray) -> str:
        name = self._file("npy")
        np.save(os.path.join(self.folder, name), array, allow_pickle=False)
        return name

    def save_json(self, value) -> str:
        name = self._file("json")
        with open(os.path.join(self.folder, name), "w", encoding="utf-8") as f:
            json.dump(value, f)
        return name

    def tree(self, value, depth: int = 0):
        try:
            return self._tree(value, depth)
        except Exception as err:  # a value whose own methods fail while it is read
            return {"uncrossable": f"a {_type_name(value)} that could not be read ({type(err).__name__})"}

    def _tree(self, value, depth: int):
        if depth > MAX_DEPTH:
            return {"uncrossable": "nested too deeply"}
        if self.reference is not None:
            ref = self.reference(value)
            if ref is not None:
                return {"ref": ref}
        if value is None or isinstance(value, (bool, str)):
            return {"value": value}
        if isinstance(value, (int, float)) and type(value) in (int, float):
            return {"value": value}
        if isinstance(value, (np.generic, np.ndarray)):
            return self._array(np.asarray(value), scalar=isinstance(value, np.generic))
        if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
            return {type(value).__name__: [self.tree(item, depth + 1) for item in value]}
        if type(value) is dict:
            return {"dict": [[self.tree(k, depth + 1), self.tree(v, depth + 1)] for k, v in value.items()]}
        kind = type(value).__module__.split(".")[0]
        if kind == "pandas":
            return self._pandas(value, depth)
        if kind == "keras" or _is_keras_model(value):
            return self._model(value)
        if kind in ("tensorflow", "jax", "jaxlib", "torch"):
            import keras

            return self._array(np.asarray(keras.ops.convert_to_numpy(value)), scalar=False)
        if dataclasses.is_dataclass(value) and not isinstance(value, type) and _course_class(type(value)):
            cls = type(value)
            fields = {f.name: self.tree(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
            return {"record": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
        if _is_function(value) and self.handle is not None:
            name = getattr(value, "__name__", None)
            return {"function": self.handle(value), "name": name if isinstance(name, str) else "function"}
        return {"uncrossable": f"an object of class {_type_name(value)}", "hint": _hint(value)}

    def _array(self, array: np.ndarray, scalar: bool):
        if array.dtype.hasobject:
            return {"list": [self.tree(item) for item in array.tolist()]} if array.ndim else self.tree(array.item())
        return {"array": self.save_array(array), "scalar": bool(scalar)}

    def _pandas(self, value, depth: int):
        import pandas as pd

        if isinstance(value, pd.Series):
            return {
                "series": self.tree(value.to_numpy(), depth + 1),
                "index": self.tree(value.index.to_numpy(), depth + 1),
                "name": self.tree(value.name, depth + 1),
            }
        if isinstance(value, pd.DataFrame):
            return {
                "frame": [self.tree(value[c].to_numpy(), depth + 1) for c in value.columns],
                "columns": self.tree(list(value.columns), depth + 1),
                "index": self.tree(value.index.to_numpy(), depth + 1),
            }
        return {"uncrossable": f"a pandas {_type_name(value)}"}

    def _model(self, model):
        import keras

        if not isinstance(model, keras.Model):
            return {"uncrossable": f"a Keras {_type_name(model)}, not a model"}
        try:
            config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
        except Exception as err:  # a layer whose configuration is not plain data
            return {"uncrossable": f"a model that cannot be saved ({str(err)[:200]})", "hint": HINTS["model"]}
        weights = [self.save_array(np.asarray(w)) for w in model.get_weights()]
        return {"model": self.save_json(config), "weights": weights}


def _type_name(value) -> str:
    name = type(value).__name__
    return name if isinstance(name, str) else "object"


def _is_function(value) -> bool:
    import functools
    import inspect

    return (
        inspect.isfunction(value)
        or inspect.ismethod(value)
        or inspect.isbuiltin(value)
        or (isinstance(value, functools.partial))
    )


def _is_keras_model(value) -> bool:
    return any(c.__module__.startswith("keras") and c.__name__ in ("Model", "Layer") for c in type(value).__mro__)


def _course_class(cls: type) -> bool:
    return cls.__module__ == COURSE_PACKAGE or cls.__module__.startswith(COURSE_PACKAGE + ".")


def _hint(value) -> str:
    import inspect

    if inspect.isgenerator(value):
        return HINTS["generator"]
    if hasattr(value, "read") and hasattr(value, "close"):
        return HINTS["file"]
    return ""


def write(value, folder: str, handle=None, reference=None, of: int | None = None) -> None:
    """Write ``value`` into ``folder``: its tree in ``tree.json``, inside an envelope that may name the
    kernel's handle ``of`` the value (so the same object, passed back, is the kernel's own again)."""
    write_envelope({"tree": Writer(folder, handle, reference).tree(value), "handle": of}, folder)


def write_envelope(envelope: dict, folder: str) -> None:
    """``{"tree": ..., "handle": ...}``, ``{"missing": true}`` or ``{"raised": [type, message]}``."""
    with open(os.path.join(folder, TREE), "w", encoding="utf-8") as f:
        json.dump(envelope, f)


# ----------------------------------------------------------------------------------------------
# reading


class Reader:
    """Reads what the other side wrote into the folder open as ``dir_fd``.

    ``owner``: the uid every file must belong to (None: any). ``function(handle, name)`` and
    ``resolve(ref)`` turn handles into callables and references into the reader's own objects."""

    def __init__(self, dir_fd: int, owner: int | None = None, function=None, resolve=None, safe: bool = True):
        self.dir_fd, self.owner, self.function, self.resolve, self.safe = dir_fd, owner, function, resolve, safe
        self.items = 0
        self.what = "A value"  # how messages name the value being read, e.g. "`model`"
        self.refused: list[str] = []  # the messages of every value that could not cross

    def _open(self, name, limit: int):
        if not isinstance(name, str) or not (name == TREE or _NAME.fullmatch(name)):
            raise CrossingError(f"a file name that is not the grader's: {name!r}")
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0), dir_fd=self.dir_fd)
        except OSError as err:
            raise CrossingError(f"the kernel's answer is missing ({name}: {err.strerror})") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (self.owner is not None and info.st_uid != self.owner):
            os.close(fd)
            raise CrossingError(f"{name} is not a plain file written by the kernel")
        if info.st_size > limit:
            os.close(fd)
            raise CrossingError(f"{name} is larger than the grader accepts ({info.st_size:,} bytes)")
        return os.fdopen(fd, "rb")

    def read_json(self, name):
        with self._open(name, MAX_JSON_BYTES) as f:
            try:
                return json.loads(f.read().decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as err:
                raise CrossingError(f"{name} is not valid JSON") from err

    def read_array(self, name) -> np.ndarray:
        with self._open(name, MAX_FILE_BYTES) as f:
            try:
                return np.load(f, allow_pickle=False)
            except (ValueError, OSError, EOFError) as err:
                raise CrossingError(f"{name} is not a NumPy array file ({err})") from err

    def envelope(self) -> dict:
        envelope = self.read_json(TREE)
        if not isinstance(envelope, dict):
            raise CrossingError("a malformed answer from the kernel")
        return envelope

    def value(self, tree=None, depth: int = 0):
        if tree is None:
            tree = self.envelope().get("tree")
        self.items += 1
        if depth > MAX_DEPTH + 2 or self.items > MAX_ITEMS:
            raise CrossingError("the value is nested too deeply or has too many items")
        if not isinstance(tree, dict) or len(tree) == 0:
            raise CrossingError("a malformed value")
        if "value" in tree:
            value = tree["value"]
            if value is not None and type(value) not in (bool, int, float, str):
                raise CrossingError("a malformed plain value")
            return value
        if "list" in tree or "tuple" in tree:
            items = tree.get("list", tree.get("tuple"))
            if not isinstance(items, list):
                raise CrossingError("a malformed list")
            values = [self.value(item, depth + 1) for item in items]
            return values if "list" in tree else tuple(values)
        if "dict" in tree:
            pairs = tree["dict"]
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise CrossingError("a malformed dict")
            out = {}
            for k, v in pairs:
                key = self.value(k, depth + 1)
                try:
                    out[key] = self.value(v, depth + 1)
                except TypeError:
                    raise CrossingError("a dict key that is not hashable") from None
            return out
        if "array" in tree:
            array = self.read_array(tree["array"])
            return array[()] if tree.get("scalar") else array
        if "series" in tree or "frame" in tree:
            return self._pandas(tree, depth)
        if "model" in tree:
            try:
                return self.model(tree)
            except ModelRefused as refused:
                return self._uncrossable(f"{self.what} is a model the grader refuses: {refused}")
        if "record" in tree:
            return self._record(tree, depth)
        if "function" in tree:
            if self.function is None:
                raise CrossingError("a function cannot cross this way")
            return self.function(tree["function"], str(tree.get("name", "function"))[:100])
        if "ref" in tree:
            if self.resolve is None:
                raise CrossingError("a reference cannot cross this way")
            return self.resolve(tree["ref"])
        if "uncrossable" in tree:
            hint = tree.get("hint")
            return self._uncrossable(
                uncrossable_message(self.what, str(tree["uncrossable"])[:300], str(hint)[:300] if hint else "")
            )
        raise CrossingError("a value of a kind the grader does not know")

    def _uncrossable(self, message: str) -> CouldNotCross:
        self.refused.append(message)
        return CouldNotCross(message)

    def _pandas(self, tree, depth):
        import pandas as pd

        index = self.value(tree["index"], depth + 1)
        if "series" in tree:
            name = self.value(tree["name"], depth + 1)
            return pd.Series(self.value(tree["series"], depth + 1), index=index, name=name)
        columns = self.value(tree["columns"], depth + 1)
        data = [self.value(c, depth + 1) for c in tree["frame"]]
        if not isinstance(columns, list) or len(columns) != len(data):
            raise CrossingError("a malformed table")
        frame = pd.DataFrame(dict(enumerate(data)), index=index)
        frame.columns = columns
        return frame

    def _record(self, tree, depth):
        cls = course_class(tree["record"])
        fields = tree.get("fields")
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(fields, dict) or set(fields) != names:
            raise CrossingError(f"a malformed {cls.__name__}")
        obj = object.__new__(cls)
        for name, value in fields.items():
            object.__setattr__(obj, name, self.value(value, depth + 1))
        return obj

    def model(self, tree):
        import keras

        config = self.read_json(tree["model"])
        weights = tree.get("weights")
        if not isinstance(weights, list):
            raise CrossingError("a malformed model")
        if self.safe:
            check_model_config(config)
        try:
            model = keras.saving.deserialize_keras_object(config, safe_mode=self.safe)
        except Exception as err:
            raise ModelRefused(f"the model could not be rebuilt from its configuration ({err})") from None
        if not isinstance(model, keras.Model):
            raise CrossingError("a model that is not a Keras model")
        try:
            model.set_weights([self.read_array(name) for name in weights])
        except ValueError as err:
            raise CrossingError(f"the model's weights do not fit it ({err})") from None
        return model


class ModelRefused(CrossingError):
    """A model that carries code, or classes the grader does not have."""


def course_class(path) -> type:
    """The course's own dataclass ``"module:Qualname"`` (nothing else)."""
    if not isinstance(path, str) or path.count(":") != 1:
        raise CrossingError("a malformed class name")
    module_name, qualname = path.split(":")
    if not (module_name == COURSE_PACKAGE or module_name.startswith(COURSE_PACKAGE + ".")) or "." in qualname:
        raise CrossingError(f"{path} is not one of the course's result classes")
    try:
        cls = getattr(importlib.import_module(module_name), qualname)
    except (ImportError, AttributeError):
        raise CrossingError(f"{path} is not one of the course's result classes") from None
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module_name):
        raise CrossingError(f"{path} is not one of the course's result classes")
    return cls


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def check_model_config(config) -> None:
    """Refuse a model configuration that names code: a Lambda layer, or any class or function from
    outside Keras other than the course's registered layers."""
    import keras

    registered = keras.saving.get_custom_objects()

    def walk(node):
        if isinstance(node, dict):
            name = node.get("class_name")
            if name in ("Lambda", "__lambda__", "TFOpLambda"):
                raise ModelRefused(
                    "the model has a Lambda layer, which carries Python code; the grader does not load code from "
                    "your notebook. " + _sentence(HINTS["model"]) + "."
                )
            module = node.get("module")
            if module is not None:
                keras_module = isinstance(module, str) and (module in KERAS_MODULES or module.startswith("keras."))
                course_layer = isinstance(module, str) and module.startswith(COURSE_PACKAGE + ".")
                course_layer = course_layer and node.get("registered_name") in registered
                if not (keras_module or course_layer):
                    raise ModelRefused(
                        f"the model uses {name!r} from {module!r}, which is not part of Keras; the grader does not "
                        "load code from your notebook. " + _sentence(HINTS["model"]) + "."
                    )
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
