"""pyramidrefine: coarse-to-fine image-to-image refinement over a pyramid of scales."""

from . import data, discriminators, generators, losses, metrics, progress, tasks
from .data import load_image_dataset, split_dataset
from .discriminators import MultiScaleDiscriminator, PatchGAN
from .errors import (
    CheckpointError,
    ConfigurationError,
    DataError,
    ImageReadError,
    InvalidInputError,
    MissingExtraError,
    PyramidRefineError,
    UnknownNameError,
)
from .evaluation import evaluate
from .generators import UNet
from .inference import Colorizer, Pipeline, colorize
from .losses import GANLoss, Pix2PixObjective
from .methods import METHODS, apply_method
from .pretrained import (
    ModelInfo,
    list_models,
    load_colorizer,
    load_model,
    model_info,
    model_task,
)
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
    load_module,
    load_plugins,
    register_discriminator,
    register_generator,
    register_loss,
    register_task,
)
from .tasks import ColorizationTask, DenoisingTask, Task

__version__ = "0.1.0"

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "LOSSES",
    "METHODS",
    "TASKS",
    "CheckpointError",
    "CoarseToFine",
    "ColorizationTask",
    "Colorizer",
    "ConfigurationError",
    "DataError",
    "DenoisingTask",
    "GANLoss",
    "ImageReadError",
    "InvalidInputError",
    "MissingExtraError",
    "ModelInfo",
    "MultiScaleDiscriminator",
    "PatchGAN",
    "Pipeline",
    "Pix2PixObjective",
    "PyramidRefineError",
    "Registry",
    "Task",
    "UNet",
    "UnknownNameError",
    "__version__",
    "apply_method",
    "colorize",
    "create_discriminator",
    "create_generator",
    "create_loss",
    "create_task",
    "data",
    "discriminators",
    "evaluate",
    "generators",
    "list_discriminators",
    "list_generators",
    "list_losses",
    "list_models",
    "list_tasks",
    "load_colorizer",
    "load_image_dataset",
    "load_model",
    "load_module",
    "load_plugins",
    "losses",
    "metrics",
    "model_info",
    "model_task",
    "progress",
    "register_discriminator",
    "register_generator",
    "register_loss",
    "register_task",
    "split_dataset",
    "tasks",
]
