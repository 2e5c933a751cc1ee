"""CNN Architectures in Practice: the library the course's notebooks import.

Students use it from the lectures (``notebooks/``) and the assignments
(``release/``), instead of copying code from one notebook to the next, in the
spirit of d2l's library. Each module holds one concern, and each function's
docstring names the lecture that teaches it:

- ``course.data``       offline-first dataset loaders (MNIST, Fashion-MNIST, sample images)
- ``course.models``     model builders (LeNet-5, its modern variant, MLP and CNN baselines)
- ``course.train``      training recipes, seeded and timed training, the device summary
- ``course.viz``        training curves, confusion matrices, image grids, layer tables
- ``course.transforms`` image shifts and pixel permutations for the lecture experiments
- ``course.complexity`` weight-layer counts and multiply-adds per image
- ``course.runtime``    run modes (full, smoke, autograde) and the settings each one uses
- ``course.grading``    the checks the assignments' test cells call: ``course.grading.core``
  and one module per assignment (``course.grading.lenet5``)

The instructor's tooling (the ``course`` command, releasing and grading
assignments, building handouts) lives in the separate ``autograder`` package;
nothing here imports it. Modules are imported lazily, so ``import course``
stays cheap and does not start TensorFlow.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = {"data", "models", "train", "viz", "transforms", "complexity", "runtime", "grading"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course' has no attribute {name!r}")


__all__ = sorted(_SUBMODULES) + ["__version__"]
