"""Files in, files out: expand paths, plan outputs, run a pipeline over them, save atomically.

What ``pyramidrefine colorize`` and ``predict`` (and the demo's saving) share: inputs are
files, folders and globs; each output is written under a temporary name and renamed;
existing outputs are kept unless overwritten; a file that fails is one ``path: problem``
line and the others go on; under a launcher the files are shared out between processes.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from .atomic import atomic_path, ensure_writable_folder, remove_stale_temporaries
from .errors import INTERRUPTED_EXIT_CODE, ConfigurationError, PyramidRefineError
from .hardware import keep_freed_memory
from .progress import FileProgress

if TYPE_CHECKING:
    from accelerate import PartialState

JPEG_SUFFIXES = (".jpg", ".jpeg")
KEPT_SUFFIXES = (".png", *JPEG_SUFFIXES)
JPEG_QUALITY = 95
# Set by torchrun and accelerate launch in every process they start.
LAUNCHER_VARIABLES = ("WORLD_SIZE", "LOCAL_RANK")
FILE_ERRORS = (PyramidRefineError, OSError, MemoryError, Image.DecompressionBombError)


@dataclass(frozen=True)
class Job:
    """One input file and the output it is coloured into."""

    source: Path
    target: Path


def start_processes(device: str | None) -> PartialState:
    """Accelerate's state: this process's rank and device (one process without a launcher)."""
    import torch
    from accelerate import PartialState

    from .devices import resolve_device

    if device is not None:
        resolve_device(device)  # a one-line error for a device this machine lacks
    use_cpu = not torch.cuda.is_available() or (device or "").startswith("cpu")
    return PartialState(cpu=use_cpu)  # cpu=True: several CPU processes share out the files


def process_files(
    args: argparse.Namespace,
    make_pipeline: Callable[[PartialState], Callable[[Image.Image], Image.Image]],
    *,
    done: str,
) -> int:
    """Run the pipeline ``make_pipeline(state)`` builds over the files ``args`` name
    (``paths``, ``out``, ``suffix``, ``format``, ``overwrite``, ``device``), shared between
    processes; returns the exit code.

    Prints each problem on stderr and one summary line, ``N <done>, ... failed``. The
    output folder is checked (created, writable) before any file is read, and the
    temporaries of a killed run are removed from it. A single process with nothing to do
    (every output exists) says so without building the pipeline. Ctrl+C stops after the
    summary of what was done so far, with exit code 130.
    """
    check_suffix(args.suffix)
    planned = None
    if _may_have_nothing_to_do(args):  # one process: its plan is every process's plan
        ensure_writable_folder(args.out, "output folder")
        remove_stale_temporaries(args.out)
        planned = jobs, problems, skipped = _plan(args)
        if not jobs:  # no model to load, no torch to import
            announce(problems, skipped)
            print(summary_line(0, done, skipped, len(problems)))
            return 1 if problems else 0
    keep_freed_memory()  # this process is ours: large buffers are reused, not re-faulted
    state = start_processes(args.device)
    pipeline = make_pipeline(state)
    if planned is None:
        ensure_writable_folder(args.out, "output folder")
        if state.is_main_process:
            remove_stale_temporaries(args.out)
        jobs, problems, skipped = _plan(args)
        state.wait_for_everyone()  # every process plans the same jobs before any is written
        if not state.is_main_process:  # the main process reports the plan
            problems, skipped = [], []
    announce(problems, skipped)
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
    print(summary_line(written, done, skipped, failed, prefix=prefix, stopped=stopped))
    if interrupted:
        return INTERRUPTED_EXIT_CODE
    return 1 if failed else 0


def _plan(args: argparse.Namespace) -> tuple[list[Job], list[str], list[Job]]:
    """The jobs, the problem lines (inputs and clashes) and the skipped jobs of ``args``."""
    files, problems = expand_paths(args.paths)
    jobs, clashes, skipped = plan_outputs(files, args.out, args.suffix, args.format, args.overwrite)
    return jobs, problems + clashes, skipped


def _may_have_nothing_to_do(args: argparse.Namespace) -> bool:
    """A re-run (the output folder exists) of one process on the default device: worth
    planning before the model is built, since every output may exist already."""
    launched = any(os.environ.get(name) for name in LAUNCHER_VARIABLES)
    return not launched and args.device is None and Path(args.out).is_dir()


def announce(problems: list[str], skipped: list[Job]) -> None:
    """Print the problems found in planning (stderr) and the outputs kept as they are."""
    for problem in problems:
        print(problem, file=sys.stderr)
    for job in skipped:
        print(f"{job.target}: skipped (exists)")


def summary_line(
    written: int, done: str, skipped: list[Job], failed: int, *, prefix: str = "", stopped: str = ""
) -> str:
    """``[process K: ]N <done>, [M skipped (exists), ]F failed[...]``."""
    skips = f"{len(skipped)} skipped (exists), " if skipped else ""
    hint = " (--overwrite replaces existing outputs)" if skips else ""
    return f"{prefix}{written} {done}, {skips}{failed} failed{stopped}{hint}"


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
    """Read one file, run ``pipeline`` on it and write the result atomically. A pipeline
    with a ``for_file(path)`` method runs the one that gives for the file (e.g. its hints)."""
    from .images import read_image  # torch: only once there is a file to colour

    for_file = getattr(pipeline, "for_file", None)
    run = pipeline if for_file is None else for_file(job.source)
    result = run(read_image(job.source))
    with atomic_path(job.target) as temporary:
        save_image(result, temporary)


def save_image(image: Image.Image, path: Path) -> None:
    """Write ``image`` as JPEG or PNG, by ``path``'s extension."""
    if path.suffix.lower() in JPEG_SUFFIXES:
        image.save(path, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(path, format="PNG")


def _folder_images(folder: Path) -> list[Path]:
    from .images import readable_extensions

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
