"""The ``pyramidrefine`` command: its top-level parser, and the dispatch to the command
modules (train, evaluate, export, colorize, predict, models, demo)."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..errors import INTERRUPTED_EXIT_CODE, PyramidRefineError
from . import colorize, demo, evaluate, export, models, predict, train
from .options import add_common_options, apply_common_options

DESCRIPTION = """\
Coarse-to-fine image-to-image refinement: run a generator over a pyramid of scales.
Each command has its own help: pyramidrefine COMMAND --help.
"""

EPILOG = """\
examples:
  pyramidrefine colorize examples/photos --out coloured      # the shipped colorizer
  pyramidrefine train --config configs/colorize-pyramid.yaml data.train=photos/
  pyramidrefine evaluate --model runs/colorize-pyramid/model --data photos/
  pyramidrefine export --model runs/colorize-pyramid/model --format onnx
  pyramidrefine demo                                        # a web page on 127.0.0.1
"""

# The commands in the order of --help; each module has add_parser(commands) and run(args).
COMMANDS = {
    "train": train,
    "evaluate": evaluate,
    "export": export,
    "colorize": colorize,
    "predict": predict,
    "models": models,
    "demo": demo,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pyramidrefine`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        apply_common_options(args)
        return COMMANDS[args.command].run(args)
    except PyramidRefineError as error:
        print(f"pyramidrefine {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl+C before colorize's own summary, or in another command
        print(f"pyramidrefine {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="pyramidrefine",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_common_options(parser, command=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(commands)
    for command in commands.choices.values():
        add_common_options(command, command=True)
    return parser
