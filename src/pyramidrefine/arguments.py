"""Argument types shared by the commands: whole numbers and memory sizes, checked by argparse."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .hardware import MemoryBudget


def positive(text: str) -> int:
    """A whole number of at least 1."""
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative(text: str) -> int:
    """A whole number of at least 0."""
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def memory_size(text: str) -> MemoryBudget:
    """A memory size such as 800M, 2G, auto or none (see :func:`parse_memory_size`)."""
    from .hardware import parse_memory_size  # imports torch: only when a value is parsed

    try:
        return parse_memory_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def integer(text: str) -> int:
    """A whole number."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
