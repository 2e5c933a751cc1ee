"""CNN Architectures in Practice: the library the course's notebooks import.

Students use it from the lectures (``notebooks/``) and the assignments
(``release/``), instead of copying code from one notebook to the next, in the
spirit of d2l's library. Each module holds one concern, and each function's
docstring names the lecture that teaches it:

- ``course.data``       offline-first dataset loaders (MNIST, Fashion-MNIST, CIFAR-10, flowers, chest X-rays,
  sample images) and patient-wise splits
- ``course.models``     model builders (LeNet-5, its modern variant, MLP and CNN baselines)
- ``course.conv``       convolutions written from scratch in NumPy, checked against Keras (lecture 01b)
- ``course.train``      training recipes, seeded and timed training, augmentation, mean and spread over seeds, devices
- ``course.viz``        training curves, confusion matrices, image grids, layer tables, Grad-CAM heat maps
- ``course.transforms`` image shifts and pixel permutations for the lecture experiments, chest X-ray
  augmentation and contrast equalisation (lecture 10)
- ``course.complexity`` weight-layer counts, multiply-adds, memory and receptive fields (``profile``)
- ``course.stepwise``   training measured in steps and seconds, with error curves on fixed sets
- ``course.gradients``  the loss gradient's norm at each layer, a class score's gradient with respect to a
  layer's activations (the one module with per-backend code)
- ``course.losses``     the focal loss and balanced class weights, for imbalanced classes (lecture 10)
- ``course.clinical``   per-class sensitivity and specificity, ROC and AUC, operating thresholds,
  bootstrap confidence intervals (lecture 10)
- ``course.shortcuts``  shortcut audits: how well the image border alone predicts the class (lecture 10)
- ``course.deploy``     a trained model saved for serving, with its operating threshold, version and hash
- ``course.model_card`` a one-page Markdown model card written from measured values (lecture 10)
- ``course.serve``      the HTTP inference service behind ``course serve`` (FastAPI, uvicorn; lecture 10)
- ``course.pretrained`` trained weights, offline-first: VGG16's base, the course's own flower AlexNet
- ``course.transfer``   transfer learning on a CPU: split a base, cache frozen features, new heads, label curves
- ``course.training_cost`` one VGG16 training step's time and memory, measured in a fresh process
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
_SUBMODULES |= {"stepwise", "gradients", "pretrained", "conv", "transfer", "training_cost"}
_SUBMODULES |= {"losses", "clinical", "shortcuts", "deploy", "serve", "model_card"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course' has no attribute {name!r}")


__all__ = sorted(_SUBMODULES) + ["__version__"]
