"""pyramidrefine: coarse-to-fine image-to-image refinement over a pyramid of scales.

The public names load on first use (PEP 562), so that ``import pyramidrefine`` and the
command line (``pyramidrefine --help``) do not import torch until something needs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

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

__version__ = "0.1.0"

# Public name -> the module that defines it.
_LAZY = {
    "load_image_dataset": "data",
    "split_dataset": "data",
    "MultiScaleDiscriminator": "discriminators",
    "PatchGAN": "discriminators",
    "evaluate": "evaluation",
    "UNet": "generators",
    "add_guide_channels": "guides",
    "Colorizer": "inference",
    "Pipeline": "inference",
    "colorize": "inference",
    "GANLoss": "losses",
    "Pix2PixObjective": "losses",
    "METHODS": "choices",
    "apply_method": "methods",
    "ModelInfo": "pretrained",
    "list_models": "pretrained",
    "load_colorizer": "pretrained",
    "load_model": "pretrained",
    "model_info": "pretrained",
    "model_task": "pretrained",
    "CoarseToFine": "pyramid",
    "DISCRIMINATORS": "registry",
    "GENERATORS": "registry",
    "LOSSES": "registry",
    "Registry": "registry",
    "TASKS": "registry",
    "create_discriminator": "registry",
    "create_generator": "registry",
    "create_loss": "registry",
    "create_task": "registry",
    "list_discriminators": "registry",
    "list_generators": "registry",
    "list_losses": "registry",
    "list_tasks": "registry",
    "load_module": "registry",
    "load_plugins": "registry",
    "register_discriminator": "registry",
    "register_generator": "registry",
    "register_loss": "registry",
    "register_task": "registry",
    "ColorizationTask": "tasks",
    "DenoisingTask": "tasks",
    "Task": "tasks",
}


def __getattr__(name: str) -> Any:
    """Import a public name, or a submodule (``pyramidrefine.tiling``), when first used."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # what type checkers and IDEs see
    from . import data, discriminators, generators, losses, metrics, progress, tasks
    from .choices import METHODS
    from .data import load_image_dataset, split_dataset
    from .discriminators import MultiScaleDiscriminator, PatchGAN
    from .evaluation import evaluate
    from .generators import UNet
    from .guides import add_guide_channels
    from .inference import Colorizer, Pipeline, colorize
    from .losses import GANLoss, Pix2PixObjective
    from .methods import apply_method
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
    "add_guide_channels",
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
