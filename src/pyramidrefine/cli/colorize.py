"""``pyramidrefine colorize``: colour image files, folders and globs into an output folder."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..choices import (
    BACKENDS,
    DEFAULT_BASE_SIZE,
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    METHOD_TABLE,
    METHODS,
    MIN_TILE,
    PRECISIONS,
)
from .arguments import add_command, add_model_argument, memory_size, non_negative, positive

if TYPE_CHECKING:  # the command's work imports torch; building its parser does not
    from accelerate import PartialState

HELP = "colour black-and-white photos"
DESCRIPTION = """\
Colour black-and-white photos. Each output has its input's size and exactly its
luminance (colour inputs are reduced to their luminance first) and is written as
DIR/<input stem><suffix>.<ext>, atomically. An output that already exists is kept
and reported as "skipped (exists)" (--overwrite replaces it), so a re-run only
colours what is new. A file that fails is reported as "path: problem" on
stderr and the others go on. The output folder is checked first, and hidden temporaries
left in it by a killed run are removed. Exit code: 0 if no file failed (skipped ones
included), 1 if any failed, 2 for usage or configuration errors, 130 when stopped by
Ctrl+C (after the summary so far). Under `accelerate launch` the files are shared
between the processes. Models of other tasks (a denoiser, ...): pyramidrefine predict.
"""

FLAGS = {"base_size": "--base-size", "tile": "--tile", "overlap": "--overlap"}


def methods_help() -> str:
    """The epilog's list of methods, from :data:`~pyramidrefine.choices.METHOD_TABLE`."""
    lines = ["methods (the same weights, run differently):"]
    for method in METHOD_TABLE.values():
        flags = " ".join(flag for name, flag in FLAGS.items() if name in method.options)
        text = textwrap.wrap(f"{method.help} [{flags or 'no settings'}]", 70)
        lines += [f"  {method.name:<15}{text[0]}", *(f"{'':17}{line}" for line in text[1:])]
    return "\n".join(lines) + "\n"


METHODS_HELP = (
    methods_help()
    + """
examples:
  pyramidrefine colorize old/*.jpg scan.png --out coloured/
  pyramidrefine colorize photos/ --out out/ --method pyramid-tiled --tile 512
  pyramidrefine colorize photos/ --out out/ --model my-colorizer   # folder or Hub id
"""
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``colorize`` subcommand."""
    parser = add_command(commands, "colorize", HELP, DESCRIPTION, METHODS_HELP)
    add_file_arguments(parser, suffix="_color")
    add_method_arguments(parser)
    add_model_argument(parser, required=False)
    add_device_arguments(parser)


def add_file_arguments(parser: argparse.ArgumentParser, *, suffix: str) -> None:
    """PATH..., --out, --format, --suffix (default ``suffix``) and --overwrite."""
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="image files, folders (their images, sorted) or glob patterns such as 'scans/*.jpg'",
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="output folder (created)"
    )
    parser.add_argument(
        "--format",
        choices=("png", "jpg"),
        help="output format; default: the input's (PNG or JPEG; other formats give PNG)",
    )
    parser.add_argument(
        "--suffix", default=suffix, help="added to each input's stem (default: %(default)s)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace outputs that already exist"
    )


def add_method_arguments(parser: argparse.ArgumentParser) -> None:
    """--method, --tile, --overlap and --base-size."""
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="pyramid",
        metavar="METHOD",
        help=f"{', '.join(METHODS)} (see below; default: %(default)s)",
    )
    parser.add_argument(
        "--tile",
        type=positive,
        help=f"tile size of pyramid-tiled (default {DEFAULT_TILE}) and patchwise (default the "
        f"base size), at least {MIN_TILE}",
    )
    parser.add_argument(
        "--overlap",
        type=non_negative,
        help=f"minimum overlap of neighbouring tiles, under half the tile (default "
        f"{DEFAULT_OVERLAP}, at most a quarter of the tile)",
    )
    parser.add_argument(
        "--base-size",
        type=positive,
        help="long side of the coarsest pyramid level, and the working size of the lowres "
        f"methods (default: the model's, else {DEFAULT_BASE_SIZE})",
    )


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """--device, --precision, --memory-budget and --backend."""
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="auto: bf16 autocast on GPUs with bf16 and CPUs with native bf16 (AVX512-BF16, "
        "AMX), else fp32; fp32 or bf16 force one (bf16 is many times slower on CPUs without "
        "it) (default: %(default)s)",
    )
    parser.add_argument(
        "--memory-budget",
        type=memory_size,
        default="auto",
        metavar="SIZE",
        help="memory one image may use, e.g. 800M or 2G; levels that would not fit run tile "
        "by tile (all methods but baseline). auto: a quarter of the available RAM, at most "
        "1.5G, or half the free GPU memory; none: unbounded (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="what runs the network: torch, or onnxruntime (CPU, float32; the model is "
        "exported to ONNX once and cached in $PYRAMIDREFINE_CACHE, else ~/.cache/"
        "pyramidrefine). auto: whichever was measured faster on this machine for the "
        "photo's size; torch without onnxruntime, on GPUs and with --precision bf16 "
        "(default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    """Colour every file named by ``args``; returns the exit code."""
    from ..batch import process_files

    return process_files(args, lambda state: colorizer(args, state), done="coloured")


def colorizer(args: argparse.Namespace, state: PartialState) -> Callable[..., Any]:
    """The :class:`~pyramidrefine.inference.Colorizer` that ``args`` describe, its tiling
    checked (tiles of at least ``MIN_TILE``, overlaps under half)."""
    from ..inference import Colorizer
    from ..methods import check_tiling

    built = Colorizer(args.model, **pipeline_options(args, state))
    check_tiling(built.predict)
    return built


def pipeline_options(args: argparse.Namespace, state: PartialState) -> dict[str, Any]:
    """The :class:`~pyramidrefine.inference.Pipeline` keywords of the method and device
    arguments, on this process's device unless ``--device`` names one."""
    names = ("method", "tile", "overlap", "base_size", "precision", "memory_budget", "backend")
    return {name: getattr(args, name) for name in names} | {
        "device": args.device or str(state.device)
    }
