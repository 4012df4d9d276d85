"""Training: configuration, pyramid schemes and the Accelerate trainer."""

from .config import TrainConfig, load_config, save_config
from .schemes import LevelResult, pyramid_step, teacher_probability
from .trainer import Trainer, TrainingError, train

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
