"""Export a ``CoarseToFine``'s generators for deployment: ONNX or TorchScript.

Each distinct generator (one if shared, else one per level) is exported with dynamic
batch, height and width; ``pyramid.json`` holds what the pyramid loop needs
(:class:`~pyramidrefine.onnx_runtime.OnnxCoarseToFine` runs it without torch).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Literal

import torch

from .atomic import atomic_path, write_text_atomic
from .errors import ConfigurationError
from .extras import require
from .onnx_runtime import CONFIG_NAME
from .pyramid import CoarseToFine

Format = Literal["onnx", "torchscript"]
FORMATS = ("onnx", "torchscript")
OPSET = 18
_DYNAMIC = {0: "batch", 2: "height", 3: "width"}


def export(model: CoarseToFine, folder: str | os.PathLike, format: Format = "onnx") -> list[Path]:
    """Write ``model``'s generators and ``pyramid.json`` into ``folder``; return the files.

    Puts ``model`` in eval mode (BatchNorm running statistics are what gets exported).
    ``tile``/``overlap`` of the model are written into ``pyramid.json`` as defaults.
    Each file is written atomically; a folder this call created is removed again if the
    export fails. ONNX needs the ``export`` extra (``pip install "pyramidrefine[export]"``).
    """
    if format not in FORMATS:
        raise ConfigurationError(f"unknown export format {format!r}; use one of {FORMATS}")
    if format == "onnx":
        require("onnx", "export", "ONNX export")
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _write(model, folder, format)
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _write(model: CoarseToFine, folder: Path, format: Format) -> list[Path]:
    model.eval()
    suffix = ".onnx" if format == "onnx" else ".pt"
    names = [f"generator-{i}{suffix}" for i in range(len(model.generators))]
    side = 2 * model.pad_multiple
    parameter = next(model.parameters())
    example = parameter.new_zeros(1, model.generator_in_channels, side, side + model.pad_multiple)
    write = _onnx if format == "onnx" else _torchscript
    for generator, name in zip(model.generators, names, strict=True):
        with atomic_path(folder / name) as temporary:
            write(generator, example, temporary)
    config = {
        "format": format,
        "generators": names,
        "refiner": model.refiner is not None,
        "in_channels": model.in_channels,
        "out_channels": model.out_channels,
        "levels": model.levels,
        "base_size": model.base_size,
        "max_levels": model.max_levels,
        "tile": model.tile,
        "overlap": model.overlap,
        "pad_multiple": model.pad_multiple,
    }
    write_text_atomic(folder / CONFIG_NAME, json.dumps(config, indent=2) + "\n")
    return [folder / name for name in names] + [folder / CONFIG_NAME]


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
