"""Model builders for the course. Every builder returns an *uncompiled* ``keras.Model`` made of Keras 3
layers (AlexNet's optional local response normalisation is the one layer of the course's own), so it
runs on the TensorFlow, JAX and PyTorch backends alike. Compile it yourself, or with a recipe of
:mod:`course.train` (``train.LENET5.compile``).

The small models (lectures 01 and 02, the LeNet-5 assignment), in ``small``::

    lenet5()                    61,706   (32x32x1 input)
    lenet5(modern=True)         61,706
    lenet5(batch_norm=True)     61,932   (+ 452 non-trainable BN statistics)
    mlp()                       34,990   (28x28x1 input, one hidden layer of 44)
    small_cnn()                 34,826   (28x28x1 input)

The architecture zoo (lectures 03 and 05, the later assignments), each at its
paper's input size and 1000 classes, every parameter counted (tests check them)::

    alexnet()                   60,965,224   (227x227; grouped like the paper's two GPUs)
    alexnet(grouped=False)      62,378,344
    vgg(16)                    138,357,544   (= keras.applications.VGG16)
    vgg(19)                    143,667,240   (= keras.applications.VGG19)
    googlenet()                  6,998,552   (Table 1, no auxiliary heads)
    compact_googlenet()            349,658   (32x32, 10 classes; the GoogLeNet assignment)
    resnet(50)                  25,636,712   (= keras.applications.ResNet50)
    cifar_resnet(3)                271,098   (ResNet-20, 32x32, 10 classes; option A shortcuts)
    cifar_resnet(9)                857,082   (ResNet-56)

Each zoo builder takes ``input_shape``, ``classes`` and ``width`` (a multiplier
of every layer's filters and units), so the same code builds CPU-sized
variants, e.g. ``vgg(11, (32, 32, 3), 10, width=0.25)``.
"""

from .alexnet import alexnet
from .googlenet import COMPACT_STAGES, TABLE1, compact_googlenet, googlenet, inception
from .layers import LocalResponseNorm
from .resnet import basic_block, bottleneck_block, cifar_resnet, resnet
from .small import BN_MOMENTUM, lenet5, mlp, small_cnn
from .vgg import vgg

__all__ = [
    "BN_MOMENTUM",
    "LocalResponseNorm",
    "COMPACT_STAGES",
    "TABLE1",
    "alexnet",
    "basic_block",
    "bottleneck_block",
    "cifar_resnet",
    "compact_googlenet",
    "googlenet",
    "inception",
    "lenet5",
    "mlp",
    "resnet",
    "small_cnn",
    "vgg",
]
