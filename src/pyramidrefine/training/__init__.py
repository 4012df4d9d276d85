"""Training: configuration, pyramid schemes and the Accelerate trainer.

The names load on first use, so that reading a training config (the command line's help
lists its keys) does not import the trainer and torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it (relative to this package).
_LAZY = {
    "TrainConfig": ".config",
    "load_config": ".config",
    "save_config": ".config",
    "LevelResult": ".schemes",
    "pyramid_step": ".schemes",
    "teacher_probability": ".schemes",
    "Trainer": ".trainer",
    "TrainingError": "..errors",
    "train": ".trainer",
}


def __getattr__(name: str) -> Any:
    """Import a public name when first used."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from ..errors import TrainingError
    from .config import TrainConfig, load_config, save_config
    from .schemes import LevelResult, pyramid_step, teacher_probability
    from .trainer import Trainer, train

__all__ = [
    "LevelResult",
    "TrainConfig",
    "Trainer",
    "TrainingError",
    "load_config",
    "pyramid_step",
    "save_config",
    "teacher_probability",
    "train",
]
