"""Options every command takes, before or after its name: --import, --threads, --verbose."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..registry import load_module
from .arguments import positive

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def add_common_options(parser: argparse.ArgumentParser, *, command: bool) -> None:
    """Add the options to the main parser (``command=False``) or to a command's parser.

    A command's options only set what is given, so they add to (``--import``) or replace
    (``--threads``) the main parser's.
    """
    unset = argparse.SUPPRESS if command else None
    parser.add_argument(
        "--import",
        dest="command_imports" if command else "imports",
        action="append",
        default=argparse.SUPPRESS if command else [],
        metavar="MODULE",
        help="import a Python file (path/to/my_task.py) or module first, so that the "
        "generators, tasks and losses it registers can be named; repeatable",
    )
    parser.add_argument(
        "--threads",
        type=positive,
        default=unset,
        metavar="N",
        help="CPU threads torch may use (default: torch's, one per core)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if command else False,
        help="also show the libraries' INFO log lines and progress bars (accelerate, datasets)",
    )


def apply_common_options(args: argparse.Namespace) -> None:
    """Configure logging and threads, then import the modules named by ``--import``."""
    configure_logging(verbose=args.verbose)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    for name in [*args.imports, *getattr(args, "command_imports", [])]:
        load_module(name)


def configure_logging(*, verbose: bool) -> None:
    """pyramidrefine's INFO lines; other libraries' (accelerate, datasets) only if verbose."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger().setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("pyramidrefine").setLevel(logging.INFO)
    # datasets' "Generating train split" bars: its switch, or (not imported yet, as for
    # commands that never load a data set) the variable it reads when imported.
    if "datasets" in sys.modules:
        datasets = sys.modules["datasets"]
        if verbose:
            datasets.enable_progress_bars()
        else:
            datasets.disable_progress_bars()
    elif not verbose:
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
