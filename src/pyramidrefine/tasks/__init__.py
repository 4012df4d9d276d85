"""Registered tasks: what goes in, what comes out, and how to turn images into tensors."""

from .colorization import ColorizationTask

__all__ = ["ColorizationTask"]
