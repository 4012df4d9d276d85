"""Exception types: one per family, each message saying what was wrong and what to do."""

from __future__ import annotations

# The exit code of a command stopped by Ctrl+C (128 + SIGINT), as shells use.
INTERRUPTED_EXIT_CODE = 130


class PyramidRefineError(Exception):
    """Base class of every error pyramidrefine raises on purpose."""


class UnknownNameError(PyramidRefineError, LookupError):
    """A registry was asked for a name it does not hold."""


class ConfigurationError(PyramidRefineError, ValueError):
    """Arguments that do not fit together (levels, tiles, channels, generators)."""


class InvalidInputError(PyramidRefineError, ValueError):
    """An image or tensor that cannot be processed (shape, channels, dtype, values)."""


class ImageReadError(InvalidInputError):
    """A file that is missing, unreadable or not an image."""


class DataError(PyramidRefineError):
    """A dataset that cannot be used as loaded (for example: no usable images left)."""


class CheckpointError(PyramidRefineError, OSError):
    """A model folder or file that cannot be loaded safely (missing, mismatched, pickled)."""


class MissingExtraError(PyramidRefineError, ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


class TrainingError(PyramidRefineError, RuntimeError):
    """Training cannot go on (diverged, no data, weights that do not fit the model)."""
