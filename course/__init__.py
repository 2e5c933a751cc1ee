"""CNN Architectures in Practice: the small library the course notebooks import.

One module per concern, in the spirit of d2l's library:

- ``course.data``     offline-first dataset loaders (MNIST, Fashion-MNIST, sample images)
- ``course.models``   model builders (LeNet-5, its modern variant, MLP and CNN baselines)
- ``course.train``    seeded, timed training and the device summary
- ``course.viz``      training curves, confusion matrices, image grids, layer tables
- ``course.transforms`` image shifts and pixel permutations for the lecture experiments
- ``course.complexity`` weight-layer counts and multiply-adds per image
- ``course.runtime``  run modes: full, smoke (CI) and autograde (nbgrader)
- ``course.grading``  helpers the assignment tests call
- ``course.handouts`` executes lectures and solutions with papermill and renders HTML
- ``course.cli``      the ``course`` command (release, grade, handouts, doctor, fmt)

Modules are imported lazily so that ``import course`` stays cheap and does
not start TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "data", "models", "train", "viz", "transforms", "complexity", "runtime", "grading", "notebook_format",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course' has no attribute {name!r}")


__all__ = sorted(_SUBMODULES) + ["__version__"]
