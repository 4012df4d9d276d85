"""pyramidrefine: coarse-to-fine image-to-image refinement over a pyramid of scales."""

from . import generators, tasks
from .errors import (
    ConfigurationError,
    ImageReadError,
    InvalidInputError,
    PyramidRefineError,
    UnknownNameError,
)
from .generators import UNet
from .inference import colorize
from .pyramid import CoarseToFine
from .registry import (
    DISCRIMINATORS,
    GENERATORS,
    LOSSES,
    TASKS,
    Registry,
    create_discriminator,
    create_generator,
    create_loss,
    create_task,
    list_discriminators,
    list_generators,
    list_losses,
    list_tasks,
    load_plugins,
    register_discriminator,
    register_generator,
    register_loss,
    register_task,
)
from .tasks import ColorizationTask

__version__ = "0.1.0"

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "LOSSES",
    "TASKS",
    "CoarseToFine",
    "ColorizationTask",
    "ConfigurationError",
    "ImageReadError",
    "InvalidInputError",
    "PyramidRefineError",
    "Registry",
    "UNet",
    "UnknownNameError",
    "__version__",
    "colorize",
    "create_discriminator",
    "create_generator",
    "create_loss",
    "create_task",
    "generators",
    "list_discriminators",
    "list_generators",
    "list_losses",
    "list_tasks",
    "load_plugins",
    "register_discriminator",
    "register_generator",
    "register_loss",
    "register_task",
    "tasks",
]
