"""``pyramidrefine colorize``: colour image files, folders and globs into an output folder."""

from __future__ import annotations

import argparse
import functools
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..choices import (
    BACKENDS,
    DEFAULT_BASE_SIZE,
    DEFAULT_MAX_NETWORK_SIDE,
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    METHOD_TABLE,
    METHODS,
    MIN_TILE,
    PRECISIONS,
)
from .arguments import (
    add_command,
    add_model_argument,
    memory_size,
    non_negative,
    positive,
    side_or_none,
)

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
  pyramidrefine colorize cup.jpg --out out/ --hint 270,228,#c0392b
"""
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``colorize`` subcommand."""
    parser = add_command(commands, "colorize", HELP, DESCRIPTION, METHODS_HELP)
    add_file_arguments(parser, suffix="_color")
    add_method_arguments(parser)
    parser.add_argument(
        "--max-network-side",
        type=side_or_none,
        default=DEFAULT_MAX_NETWORK_SIDE,
        metavar="PIXELS",
        help="longest side the network runs at; larger photos get its colour upsampled "
        "under their own full-resolution luminance; none: the whole size (default: "
        "%(default)s)",
    )
    add_model_argument(parser, required=False)
    add_hint_arguments(parser)
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


def add_hint_arguments(parser: argparse.ArgumentParser) -> None:
    """--hint (repeated) and --hints FILE: colour hints, for models fine-tuned with them."""
    parser.add_argument(
        "--hint",
        action="append",
        type=hint_text,
        default=[],
        metavar="X,Y,#RRGGBB[,SIZE]",
        help="a colour hint for every input: the pixel X (from the left), Y (from the top) "
        "has this colour; SIZE: a square patch of that side. Repeat it for more hints (at "
        "most 64 a photo). The shipped colorizer spreads each hint over the region of similar "
        "luminance around it; a model fine-tuned with hints reads them itself (docs/hints.md)",
    )
    parser.add_argument(
        "--hints",
        type=Path,
        metavar="FILE",
        help='a JSON file of hints: a list, [[270, 228, "#c0392b"], ...], for every input, '
        'or an object of lists by input file name or path, {"cup.jpg": [...], ...}',
    )


def hint_text(text: str) -> list[Any]:
    """``--hint``'s type: ``X,Y,#RRGGBB[,SIZE]`` (checked against the image later)."""
    from ..errors import InvalidInputError
    from ..hints import parse_hint_text

    try:
        return parse_hint_text(text)
    except InvalidInputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


@dataclass(frozen=True)
class HintedColorizer:
    """A colorizer that colours each file with its hints: ``common`` (``--hint`` and a
    hints file's list) and ``by_file`` (a hints file's object, by name or path as given)."""

    colorizer: Callable[..., Any]
    common: list[Any]
    by_file: dict[str, list[Any]]

    def __call__(self, image: Any) -> Any:
        return self.colorizer(image, hints=self.common)

    def for_file(self, path: Path) -> Callable[[Any], Any]:
        """The colorizer with ``path``'s hints."""
        own = self.by_file.get(str(path), self.by_file.get(path.name, []))
        return functools.partial(self.colorizer, hints=[*own, *self.common])


def read_hints(args: argparse.Namespace) -> tuple[list[Any], dict[str, list[Any]]] | None:
    """``--hint`` and ``--hints FILE`` as hints for every file and by file (``None``: no
    hint given); a key of the file that names no input is a one-line error."""
    from ..batch import expand_paths
    from ..errors import ConfigurationError
    from ..hints import read_hints_file

    if not args.hint and args.hints is None:
        return None
    read = [] if args.hints is None else read_hints_file(args.hints)
    common = [*(read if isinstance(read, list) else []), *args.hint]
    by_file = read if isinstance(read, dict) else {}
    paths, _ = expand_paths(args.paths)
    names = {str(path) for path in paths} | {path.name for path in paths}
    if unknown := sorted(set(by_file) - names):
        raise ConfigurationError(
            f"{args.hints}: {unknown[0]!r} names none of the inputs; key hints by an input's "
            "file name (cup.jpg) or its path as given"
        )
    return common, by_file


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

    hints = read_hints(args)
    options = pipeline_options(args, state)
    built = Colorizer(args.model, max_network_side=args.max_network_side, **options)
    check_tiling(built.predict)
    if hints is None:
        return built
    built.check_takes_hints()
    return HintedColorizer(built, *hints)


def pipeline_options(args: argparse.Namespace, state: PartialState) -> dict[str, Any]:
    """The :class:`~pyramidrefine.inference.Pipeline` keywords of the method and device
    arguments, on this process's device unless ``--device`` names one."""
    names = ("method", "tile", "overlap", "base_size", "precision", "memory_budget", "backend")
    return {name: getattr(args, name) for name in names} | {
        "device": args.device or str(state.device)
    }
