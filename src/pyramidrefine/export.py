"""Export a ``CoarseToFine``'s generators for deployment: ONNX or TorchScript.

Each distinct generator (one if shared, else one per level) is exported with dynamic
batch, height and width; ``pyramid.json`` holds what the pyramid loop needs
(:class:`~pyramidrefine.onnx_runtime.OnnxCoarseToFine` runs it without torch).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Literal

import torch

from .atomic import atomic_path, ensure_writable_folder
from .errors import ConfigurationError
from .extras import require
from .model_config import check_saved_tiling
from .onnx_runtime import CONFIG_NAME
from .pyramid import CoarseToFine

Format = Literal["onnx", "torchscript"]
FORMATS = ("onnx", "torchscript")
OPSET = 18
_DYNAMIC = {0: "batch", 2: "height", 3: "width"}


def export(model: CoarseToFine, folder: str | os.PathLike, format: Format = "onnx") -> list[Path]:
    """Write ``model``'s generators and ``pyramid.json`` into ``folder``; return the files.

    Puts ``model`` in eval mode (BatchNorm running statistics are what gets exported).
    ``tile``/``overlap`` of the model are written into ``pyramid.json`` as defaults (a tile
    at least as large as a saved config's, :func:`~pyramidrefine.model_config.check_saved_tiling`).
    The folder is written beside its place and then swapped in, replacing an earlier export
    as a whole (no file of a previous format is left), or nothing if the export fails; a
    folder that holds anything but an earlier export is refused (see
    :func:`check_export_folder`). ONNX needs the ``export`` extra (from a clone:
    ``pip install -e ".[export]"``).
    """
    if format not in FORMATS:
        raise ConfigurationError(f"unknown export format {format!r}; use one of {FORMATS}")
    if format == "onnx":
        require("onnx", "export", "ONNX export")
    check_saved_tiling(model.tile, model.overlap)  # what OnnxCoarseToFine reads back
    folder = check_export_folder(folder)
    with atomic_path(folder, directory=True) as temporary:
        names = _write(model, temporary, format)
    return [folder / name for name in names]


def check_export_folder(folder: str | os.PathLike) -> Path:
    """``folder`` as a :class:`Path` if an export may go there: a new or empty folder, or
    one holding an earlier export (a ``pyramid.json``), whose parent can be written; else a
    one-line :class:`ConfigurationError`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigurationError(f"{folder}: is a file, not a folder; give a folder to export to")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / CONFIG_NAME).is_file():
        raise ConfigurationError(
            f"{folder}: holds files that are not an export (no {CONFIG_NAME}), which an export "
            "would replace; give a new or empty folder"
        )
    # The new folder is written beside the old one, then swapped in; a read-only one stays.
    ensure_writable_folder(folder.parent, "folder to export into")
    if folder.is_dir():
        ensure_writable_folder(folder, "export folder")
    return folder


def _write(model: CoarseToFine, folder: Path, format: Format) -> list[str]:
    model.eval()
    suffix = ".onnx" if format == "onnx" else ".pt"
    names = [f"generator-{i}{suffix}" for i in range(len(model.generators))]
    side = 2 * model.pad_multiple
    parameter = next(model.parameters())
    example = parameter.new_zeros(1, model.generator_in_channels, side, side + model.pad_multiple)
    write = _onnx if format == "onnx" else _torchscript
    # float32 graphs whatever autocast the caller runs under (a bf16 Conv is no valid ONNX)
    with torch.autocast(parameter.device.type, enabled=False):
        for generator, name in zip(model.generators, names, strict=True):
            write(generator, example, folder / name)
    config = {
        "format": format,
        "generators": names,
        "refiner": model.refiner is not None,
        "refinement": model.refinement,
        "decision_levels": model.decision_levels,
        "margin": model.margin,
        "dither": model.dither,
        "dither_from": model.dither_from,
        "in_channels": model.in_channels,
        "out_channels": model.out_channels,
        "levels": model.levels,
        "base_size": model.base_size,
        "max_levels": model.max_levels,
        "tile": model.tile,
        "overlap": model.overlap,
        "pad_multiple": model.pad_multiple,
        "guide_channels": model.guide_channels,
    }
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    return [*names, CONFIG_NAME]


@torch.no_grad()
def _onnx(generator: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on deprecations
        torch.onnx.export(
            generator,
            (example,),
            str(path),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": _DYNAMIC, "y": _DYNAMIC},
            opset_version=OPSET,
            dynamo=False,
        )


@torch.no_grad()
def _torchscript(generator: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(generator, example).save(str(path))
