"""``pyramidrefine export``: a saved model's generators as ONNX or TorchScript files."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigurationError
from ..extras import install_command
from .arguments import add_command, add_model_argument, non_negative, positive

HELP = "export a model's generators (ONNX or TorchScript)"
DESCRIPTION = """\
Export a saved model's generators for deployment, with pyramid.json holding what the
coarse-to-fine loop needs; the files written are printed, one a line. ONNX files run
without torch in pyramidrefine.onnx_runtime.OnnxCoarseToFine. Exporting and running ONNX
need the 'export' extra: {install}.
"""

EPILOG = """\
examples:
  pyramidrefine export --model my-colorizer                     # my-colorizer/onnx/
  pyramidrefine export --model my-colorizer --format torchscript --out deploy/
  pyramidrefine export --model my-colorizer --tile 512 --overlap 64
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``export`` subcommand."""
    description = DESCRIPTION.format(install=install_command("export"))
    export = add_command(commands, "export", HELP, description, EPILOG)
    add_model_argument(export, required=True)
    export.add_argument(
        "--format",
        choices=("onnx", "torchscript"),
        default="onnx",
        help="onnx: one .onnx file per generator, opset 18, dynamic batch/height/width "
        "(needs the 'export' extra); torchscript: traced .pt files (default: %(default)s)",
    )
    export.add_argument(
        "--out",
        metavar="DIR",
        help="output folder, created if needed (default: MODEL/FORMAT inside a model folder, "
        "NAME-FORMAT in the current folder for a Hub id owner/NAME)",
    )
    export.add_argument(
        "--tile",
        type=positive,
        metavar="PIXELS",
        help="written to pyramid.json: run levels larger than this tile by tile "
        "(default: the model's, usually none)",
    )
    export.add_argument(
        "--overlap",
        type=non_negative,
        metavar="PIXELS",
        help="written to pyramid.json: minimum overlap of neighbouring tiles, less than "
        "--tile (default: the model's)",
    )


def run(args: argparse.Namespace) -> int:
    """Export the model that ``args`` name; returns the exit code."""
    from ..export import export
    from ..pretrained import is_packaged, load_model

    model = load_model(args.model)
    settings = {k: getattr(args, k) for k in ("tile", "overlap") if getattr(args, k) is not None}
    overlap = settings.get("overlap", model.overlap)
    tile = settings.get("tile", model.tile)
    if tile is not None and overlap >= tile:
        raise ConfigurationError(
            f"the overlap ({overlap}) must be less than the tile ({tile}); "
            "raise --tile or pass a smaller --overlap"
        )
    if settings:
        model = model.with_settings(**settings)
    out = Path(args.out or default_export_folder(args.model, args.format))
    if is_packaged(out):
        raise ConfigurationError(
            f"--out {out} is inside the installed pyramidrefine package; give a folder elsewhere"
        )
    for path in export(model, out, args.format):
        print(path)
    return 0


def default_export_folder(model: str, format: str) -> Path:
    """MODEL/FORMAT inside a local model folder; NAME-FORMAT in the current folder for a
    shipped model's name, a folder inside the installed package or a Hub id owner/NAME."""
    from ..pretrained import is_packaged, resolve_model

    folder = resolve_model(model)
    if Path(folder).expanduser().is_dir():
        folder = Path(folder).expanduser()
        return Path(f"{folder.resolve().name}-{format}") if is_packaged(folder) else folder / format
    return Path(f"{model.rstrip('/').rsplit('/', 1)[-1]}-{format}")
