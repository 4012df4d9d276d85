"""What the commands' parsers share: argument types checked by argparse (whole numbers,
memory sizes), a subcommand's parser and the ``--model`` argument."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..hardware import MemoryBudget


MODEL_HELP = (
    "a shipped model's name (pyramidrefine models; 'default': the shipped colorizer), a "
    "folder written by save_pretrained (a run's model/) or a Hugging Face Hub id"
)


def add_command(
    commands: argparse._SubParsersAction,
    name: str,
    help_line: str,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (``help_line`` in the list of commands); its
    description and epilog are shown as written."""
    return commands.add_parser(
        name,
        help=help_line,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_model_argument(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--model MODEL``: required, or else the shipped colorizer by default."""
    default = "" if required else " (default: the shipped colorizer)"
    parser.add_argument("--model", required=required, metavar="MODEL", help=MODEL_HELP + default)


def positive(text: str) -> int:
    """A whole number of at least 1."""
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def side_or_none(text: str) -> int | None:
    """A long side in pixels, or ``none`` (no limit)."""
    return None if text.strip().lower() == "none" else positive(text)


def non_negative(text: str) -> int:
    """A whole number of at least 0."""
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def memory_size(text: str) -> MemoryBudget:
    """A memory size such as 800M, 2G, auto or none (see :func:`parse_memory_size`)."""
    from ..hardware import parse_memory_size  # imports torch: only when a value is parsed

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
