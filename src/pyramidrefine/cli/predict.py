"""``pyramidrefine predict``: apply a model of any task to image files, folders and globs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import colorize
from .arguments import add_command, add_model_argument

if TYPE_CHECKING:
    from accelerate import PartialState

HELP = "apply a model of any task (denoising, ...) to photos"
DESCRIPTION = """\
Apply a saved model to photos: each input becomes the model's input as its task defines
(a denoiser takes the RGB photo as it is, a colorizer its luminance) and the task's
rendering of the output is written as DIR/<input stem><suffix>.<ext>, atomically. The
task is the one the model was trained on (its training.yaml, or the shipped model's),
unless --task names another. Files are handled as by `pyramidrefine colorize`: outputs
that exist are skipped (--overwrite replaces them), a file that fails is reported as
"path: problem" on stderr and the others go on. Exit code: 0 if no file failed, 1 if
any failed, 2 for usage or configuration errors, 130 when stopped by Ctrl+C.
"""

EPILOG = """\
--method, --tile, --overlap and --base-size work as for colorize (pyramidrefine colorize
--help lists the methods).

examples:
  pyramidrefine predict --model runs/quick/model noisy/ --out clean/     # a denoiser
  pyramidrefine predict --model default old/*.jpg --out coloured/        # = colorize
  pyramidrefine --import my_task.py predict --model runs/sr/model small/ --out big/
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``predict`` subcommand."""
    parser = add_command(commands, "predict", HELP, DESCRIPTION, EPILOG)
    add_model_argument(parser, required=True)
    parser.add_argument(
        "--task",
        help="registered task (colorization, denoising, ...); default: the model's",
    )
    colorize.add_file_arguments(parser, suffix="_pred")
    colorize.add_method_arguments(parser)
    colorize.add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Apply the model to every file named by ``args``; returns the exit code."""
    from ..batch import process_files

    def pipeline(state: PartialState) -> Callable[..., Any]:
        from ..inference import Pipeline
        from ..methods import check_tiling

        built = Pipeline(args.model, task=args.task, **colorize.pipeline_options(args, state))
        check_tiling(built.predict)  # as colorize: tiles of a useful size
        return built

    return process_files(args, pipeline, done="written")
