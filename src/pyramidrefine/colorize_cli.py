"""``pyramidrefine colorize``: colour image files, folders and globs into an output folder."""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from .arguments import memory_size, non_negative, positive
from .atomic import atomic_path, ensure_writable_folder, remove_stale_temporaries
from .backends import BACKENDS
from .devices import resolve_device
from .errors import ConfigurationError, PyramidRefineError
from .hardware import PRECISIONS
from .images import read_image, readable_extensions
from .inference import Colorizer
from .methods import METHODS, MIN_TILE, check_tiling
from .progress import FileProgress

if TYPE_CHECKING:
    from accelerate import PartialState

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

METHODS_HELP = """\
methods (the same weights, run differently):
  pyramid        coarse to fine over a pyramid of scales (the model as trained); levels
                 too large for --memory-budget run tile by tile
  pyramid-tiled  the pyramid, with levels larger than --tile run tile by tile
  baseline       one pass at full resolution
  patchwise      one pass at full resolution, tile by tile (--tile, default the base size)
  lowres         one pass at --base-size, colour upsampled bilinearly (as DeOldify, DDColor)
  lowres-guided  lowres, with the upsampled colour aligned to the photo's edges by a
                 guided filter
--tile and --overlap apply to pyramid-tiled and patchwise only, --base-size to all
methods but baseline.

examples:
  pyramidrefine colorize old/*.jpg scan.png --out coloured/
  pyramidrefine colorize photos/ --out out/ --method pyramid-tiled --tile 512
  pyramidrefine colorize photos/ --out out/ --model my-colorizer   # folder or Hub id
"""

JPEG_SUFFIXES = (".jpg", ".jpeg")
KEPT_SUFFIXES = (".png", *JPEG_SUFFIXES)
JPEG_QUALITY = 95
FILE_ERRORS = (PyramidRefineError, OSError, MemoryError, Image.DecompressionBombError)
INTERRUPTED = 130  # the exit code of a run stopped by Ctrl+C (128 + SIGINT), as shells use


@dataclass(frozen=True)
class Job:
    """One input file and the output it is coloured into."""

    source: Path
    target: Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``colorize`` subcommand."""
    parser = commands.add_parser(
        "colorize",
        help="colour black-and-white photos",
        description=DESCRIPTION,
        epilog=METHODS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_file_arguments(parser, suffix="_color")
    add_method_arguments(parser)
    parser.add_argument(
        "--model",
        metavar="MODEL",
        help="a shipped model's name (pyramidrefine models; default: the colorizer shipped "
        "with pyramidrefine), a folder written by save_pretrained or a Hugging Face Hub id",
    )
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
        help=f"tile size of pyramid-tiled (default 512) and patchwise (default the base size), "
        f"at least {MIN_TILE}",
    )
    parser.add_argument(
        "--overlap",
        type=non_negative,
        help="minimum overlap of neighbouring tiles, under half the tile (default 64, at most "
        "a quarter of the tile)",
    )
    parser.add_argument(
        "--base-size",
        type=positive,
        help="long side of the coarsest pyramid level, and the working size of the lowres "
        "methods (default: the model's, else 256)",
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
    state = start_processes(args.device)
    colorizer = Colorizer(args.model, **pipeline_options(args, state))
    check_tiling(colorizer.predict)  # tiles of at least MIN_TILE, overlaps under half
    return process_files(args, colorizer, state, done="coloured")


def pipeline_options(args: argparse.Namespace, state: PartialState) -> dict[str, Any]:
    """The :class:`~pyramidrefine.inference.Pipeline` keywords of the method and device
    arguments, on this process's device unless ``--device`` names one."""
    names = ("method", "tile", "overlap", "base_size", "precision", "memory_budget", "backend")
    return {name: getattr(args, name) for name in names} | {
        "device": args.device or str(state.device)
    }


def start_processes(device: str | None) -> PartialState:
    """Accelerate's state: this process's rank and device (one process without a launcher)."""
    from accelerate import PartialState

    if device is not None:
        resolve_device(device)  # a one-line error for a device this machine lacks
    use_cpu = not torch.cuda.is_available() or (device or "").startswith("cpu")
    return PartialState(cpu=use_cpu)  # cpu=True: several CPU processes share out the files


def process_files(
    args: argparse.Namespace,
    pipeline: Callable[[Image.Image], Image.Image],
    state: PartialState,
    *,
    done: str,
) -> int:
    """Run ``pipeline`` over the files ``args`` name (``paths``, ``out``, ``suffix``,
    ``format``, ``overwrite``), shared between processes; returns the exit code.

    Prints each problem on stderr and one summary line, ``N <done>, ... failed``. The
    output folder is checked (created, writable) before any file is read, and the
    temporaries of a killed run are removed from it. Ctrl+C stops after the summary of
    what was done so far, with exit code 130.
    """
    check_suffix(args.suffix)
    ensure_writable_folder(args.out, "output folder")
    if state.is_main_process:
        remove_stale_temporaries(args.out)
    files, problems = expand_paths(args.paths)
    jobs, clashes, skipped = plan_outputs(files, args.out, args.suffix, args.format, args.overwrite)
    state.wait_for_everyone()  # every process plans the same jobs before any is written
    problems = (problems + clashes) if state.is_main_process else []
    for problem in problems:
        print(problem, file=sys.stderr)
    for job in skipped if state.is_main_process else []:
        print(f"{job.target}: skipped (exists)")
    written = failed = 0
    interrupted = False
    with state.split_between_processes(jobs) as mine:
        progress = FileProgress(len(mine), enabled=state.is_local_main_process and bool(jobs))
        try:
            for job in mine:
                try:
                    with progress.image(job.source.name):
                        process_file(pipeline, job)
                    written += 1
                except FILE_ERRORS as error:
                    progress.write(problem_line(job.source, error))
                    failed += 1
                progress.done()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            progress.close()
    stopped = f", {len(mine) - written - failed} not done (interrupted)" if interrupted else ""
    failed += len(problems)
    prefix = f"process {state.process_index}: " if state.num_processes > 1 else ""
    skips = f"{len(skipped)} skipped (exists), " if skipped and state.is_main_process else ""
    hint = " (--overwrite replaces existing outputs)" if skips else ""
    print(f"{prefix}{written} {done}, {skips}{failed} failed{stopped}{hint}")
    if interrupted:
        return INTERRUPTED
    return 1 if failed else 0


def check_suffix(suffix: str) -> None:
    """Refuse a ``--suffix`` that would put outputs outside ``--out`` (a path separator or
    ``..``) or that no file name can hold."""
    separators = {"/", os.sep, os.altsep or "/", "\0"}
    if any(char in suffix for char in separators) or ".." in suffix:
        raise ConfigurationError(
            f"--suffix {suffix!r}: must not hold a path separator or '..' (outputs stay in "
            "--out); give a plain suffix such as _color"
        )


def expand_paths(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files named by ``paths`` (files, folders, globs) in order, without repeats, and problems.

    A folder gives its entries with an image extension, sorted; a glob gives its matches,
    sorted, each treated as if named on the command line. Missing files, broken links and
    symbolic link loops are kept (they are reported when read); a folder that cannot be
    listed is a problem.
    """
    files: dict[Path, Path] = {}
    problems: list[str] = []
    for name in paths:
        path = Path(name)
        candidates = [path]
        if not os.path.exists(name) and any(char in name for char in "*?["):  # never raises
            candidates = [Path(match) for match in sorted(glob.glob(name))]
            if not candidates:
                problems.append(f"{name}: no file matches this pattern")
        for candidate in candidates:
            try:
                images = _folder_images(candidate) if candidate.is_dir() else [candidate]
            except OSError as error:
                problems.append(f"{candidate}: cannot be read ({error.strerror or error})")
                continue
            if not images:
                problems.append(f"{candidate}: no images in this folder")
            for image in images:
                files.setdefault(_identity(image), image)
    return list(files.values()), problems


def plan_outputs(
    files: list[Path], out: Path, suffix: str, image_format: str | None, overwrite: bool
) -> tuple[list[Job], list[str], list[Job]]:
    """The jobs to run, a problem line per output that must not be written, and the jobs
    skipped because their output exists (unless ``overwrite``)."""
    inputs = {_identity(file) for file in files}
    taken: dict[Path, Path] = {}
    jobs: list[Job] = []
    problems: list[str] = []
    skipped: list[Job] = []
    for source in files:
        target = out / f"{source.stem}{suffix}{_output_suffix(source, image_format)}"
        resolved = _identity(target)
        if resolved in inputs:
            problems.append(f"{source}: output {target} is an input; change --out or --suffix")
        elif resolved in taken:
            problems.append(f"{source}: output {target} is also the output of {taken[resolved]}")
        elif target.exists() and not overwrite:
            taken[resolved] = source
            skipped.append(Job(source, target))
        else:
            taken[resolved] = source
            jobs.append(Job(source, target))
    return jobs, problems, skipped


def process_file(pipeline: Callable[[Image.Image], Image.Image], job: Job) -> None:
    """Read one file, run ``pipeline`` on it and write the result atomically."""
    result = pipeline(read_image(job.source))
    with atomic_path(job.target) as temporary:
        save_image(result, temporary)


def save_image(image: Image.Image, path: Path) -> None:
    """Write ``image`` as JPEG or PNG, by ``path``'s extension."""
    if path.suffix.lower() in JPEG_SUFFIXES:
        image.save(path, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(path, format="PNG")


def _folder_images(folder: Path) -> list[Path]:
    readable = readable_extensions()
    return sorted(entry for entry in folder.iterdir() if entry.suffix.lower() in readable)


def _identity(path: Path) -> Path:
    """``path`` resolved (the same file by any name), or absolute where it cannot be
    (Python 3.11's ``resolve`` raises on a symbolic link loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _output_suffix(source: Path, image_format: str | None) -> str:
    if image_format is not None:
        return f".{image_format}"
    return source.suffix if source.suffix.lower() in KEPT_SUFFIXES else ".png"


def problem_line(path: Path, error: BaseException) -> str:
    """``path: problem`` for a file that failed, without repeating the path."""
    message = str(error) or type(error).__name__
    return f"{path}: {message.removeprefix(f'{path}: ')}"
