"""Registered tasks: what goes in, what comes out, and how to turn images into tensors."""

from .base import Task
from .colorization import ColorizationTask
from .denoising import DenoisingTask

__all__ = ["ColorizationTask", "DenoisingTask", "Task"]
