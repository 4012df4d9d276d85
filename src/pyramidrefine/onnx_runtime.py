"""Run an exported pyramid without torch: the coarse-to-fine loop in NumPy over onnxruntime.

``OnnxCoarseToFine(folder)`` reads what ``pyramidrefine export --format onnx`` wrote
(``pyramid.json`` and one ``.onnx`` generator per distinct level) and reproduces
:class:`~pyramidrefine.CoarseToFine`'s forward: level sizes, antialiased bilinear resizing,
priors with their flag channel, padding to the generator's multiple, and tiling with
blended overlaps. The arithmetic comes from :mod:`pyramidrefine.geometry`, shared with
the PyTorch model. A model with guide channels runs without hints here (a zero guide);
hints run through the torch pyramid loop (``backend="onnxruntime"`` does that).
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from . import geometry
from .errors import CheckpointError, ConfigurationError, InvalidInputError
from .extras import require
from .model_config import MAX_CONFIG_BYTES, SETTING_BOUNDS, check_saved_tiling, check_settings

CONFIG_NAME = "pyramid.json"


class OnnxCoarseToFine:
    """The pyramid of an exported model, run by onnxruntime.

    Args:
        folder: what ``pyramidrefine export --format onnx`` wrote.
        providers: onnxruntime execution providers (default: CPU).
        tile: override the exported ``tile`` (``0`` disables tiling).
        overlap: override the exported ``overlap``.
        threads: threads of each session's operators (default: onnxruntime's, one per
            physical core).

    Needs onnxruntime, from the ``export`` extra (from a clone: ``pip install -e ".[export]"``).
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        providers: list[str] | None = None,
        tile: int | None = None,
        overlap: int | None = None,
        threads: int | None = None,
    ) -> None:
        onnxruntime = require("onnxruntime", "export", "OnnxCoarseToFine")
        folder = Path(folder)
        config = read_exported(folder, saved_tiling=tile is None)
        self.in_channels: int = config["in_channels"]
        self.out_channels: int = config["out_channels"]
        self.levels: int | None = config["levels"]
        self.base_size: int | None = config["base_size"]
        self.max_levels: int | None = config.get("max_levels")
        self.pad_multiple: int = config["pad_multiple"]
        self.guide_channels: int = config.get("guide_channels") or 0  # fed zeros: no hint
        self.refiner: bool = config.get("refiner", False)  # generator 1 runs levels ≥ 1
        self.refinement: str = config.get("refinement", "full")  # see pyramidrefine.bands
        self.decision_levels: int = config.get("decision_levels") or 1
        self.margin: int = config.get("margin") or 0  # mirrored around "full" levels
        self.dither: float = config.get("dither") or 0.0  # noise added to "full" levels
        self.dither_from: int = config.get("dither_from") or 0  # ... from this level on
        self.tile: int | None = config["tile"] if tile is None else (tile or None)
        self.overlap: int = config["overlap"] if overlap is None else overlap
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.sessions = [
            open_session(onnxruntime, folder / name, options, providers)
            for name in config["generators"]
        ]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Predict ``B×out_channels×H×W`` float32 for a ``B×in_channels×H×W`` input."""
        return self.forward_levels(x)[-1]

    def forward_levels(self, x: np.ndarray) -> list[np.ndarray]:
        """Every level's prediction, coarsest first."""
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels or min(x.shape) < 1:
            raise InvalidInputError(
                f"expected a B×{self.in_channels}×H×W array, got shape {tuple(x.shape)}"
            )
        x = x.astype(np.float32, copy=False)
        predictions: list[np.ndarray] = []
        sizes = geometry.level_sizes(*x.shape[-2:], self.levels, self.base_size, self.max_levels)
        for level, size in enumerate(sizes):
            prior = resize(predictions[-1], size) if predictions else None
            predictions.append(self.run_level(level, resize(x, size), prior))
        return predictions

    def run_level(self, level: int, x: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
        """One level on ``x`` with ``prior`` (``None``: the neutral prior), tiled if large;
        a level that runs ``"full"`` gets its ``dither`` (from ``dither_from`` on) and sees
        ``margin`` mirrored pixels around both."""
        rule = geometry.level_rule(self.refinement, level, self.decision_levels)
        if rule == "full" and self.dither and level >= self.dither_from:
            x = x + np.float32(self.dither) * geometry.dither_noise(*x.shape[-2:])
        margin = self.margin if rule == "full" else 0
        if margin == 0:
            return self._run_level(level, x, prior)
        height, width = x.shape[-2:]
        x = _pad_margin(x, margin)
        prior = None if prior is None else _pad_margin(prior, margin)
        output = self._run_level(level, x, prior)
        return output[..., margin : margin + height, margin : margin + width]

    def _run_level(self, level: int, x: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
        batch, _, height, width = x.shape
        if prior is None:
            flagged = np.zeros((batch, self.out_channels + 1, height, width), np.float32)
        else:
            flagged = np.concatenate([prior, np.ones((batch, 1, height, width), np.float32)], 1)
        guide = np.zeros((batch, self.guide_channels, height, width), np.float32)
        inputs = np.concatenate([x, flagged, guide], axis=1)
        session = self.sessions[
            geometry.generator_index(level, len(self.sessions), refiner=self.refiner)
        ]
        if self.tile is None or max(height, width) <= self.tile:
            return self._refined(level, prior, self._run_padded(session, inputs))
        output = np.zeros((batch, self.out_channels, height, width), np.float32)
        weight_sum = np.zeros((1, 1, height, width), np.float32)
        for rows, cols, taper in geometry.tiles(height, width, self.tile, self.overlap):
            part = None if prior is None else prior[..., rows, cols]
            prediction = self._refined(
                level, part, self._run_padded(session, inputs[..., rows, cols])
            )
            window = geometry.blend_window(prediction.shape[-2:], self.overlap, taper)
            output[..., rows, cols] += prediction * window
            weight_sum[..., rows, cols] += window
        return output / weight_sum

    def _refined(self, level: int, prior: np.ndarray | None, prediction: np.ndarray) -> np.ndarray:
        """As :func:`pyramidrefine.bands.refine`: with ``detail``, prior + detail band."""
        rule = geometry.level_rule(self.refinement, level, self.decision_levels)
        if rule == "full" or prior is None:
            return prediction
        height, width = prediction.shape[-2:]
        half = geometry.low_band_size(height, width)
        low_band = resize(resize(prediction, half), (height, width))
        return prior + prediction - low_band

    def _run_padded(self, session, x: np.ndarray) -> np.ndarray:
        height, width = x.shape[-2:]
        pad_h, pad_w, mode = geometry.padding(
            height, width, self.pad_multiple, 2 * self.pad_multiple
        )
        if pad_h or pad_w:
            x = np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode=_NUMPY_PAD[mode])
        (output,) = session.run(None, {session.get_inputs()[0].name: x})
        return output[..., :height, :width]


def _pad_margin(x: np.ndarray, margin: int) -> np.ndarray:
    mode = _NUMPY_PAD[geometry.margin_mode(*x.shape[-2:], margin)]
    return np.pad(x, ((0, 0), (0, 0), (margin, margin), (margin, margin)), mode=mode)


_NUMPY_PAD = {"reflect": "reflect", "replicate": "edge"}
EXPORTED_SIZES = ("in_channels", "out_channels", "pad_multiple", "overlap")
EXPORTED_OPTIONAL = (
    "levels",
    "base_size",
    "max_levels",
    "tile",
    "guide_channels",
    "decision_levels",
    "margin",
    "dither",
    "dither_from",
)
_GENERATOR_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.onnx")


def open_session(onnxruntime: Any, path: Path, options: Any, providers: list[str] | None) -> Any:
    """An onnxruntime session of ``path``; a graph onnxruntime refuses is a one-line
    :class:`CheckpointError` (onnxruntime's own errors are not Python exception types)."""
    try:
        return onnxruntime.InferenceSession(
            str(path), options, providers=providers or ["CPUExecutionProvider"]
        )
    except Exception as error:  # pybind errors (Fail, InvalidGraph, ...) are not subclasses
        first = (str(error) or type(error).__name__).splitlines()[0]
        raise CheckpointError(
            f"{path}: onnxruntime cannot open this graph ({first[:200]}); export the model "
            "again (pyramidrefine export --format onnx)"
        ) from None


def read_exported(folder: Path, *, saved_tiling: bool = True) -> dict[str, Any]:
    """``folder``'s ``pyramid.json``, size-capped and every value checked: an export is data.

    Sizes are bounded as a model's are (:func:`~pyramidrefine.model_config.check_settings`;
    with ``saved_tiling``, the saved tile as a saved config's), the generators are plain
    ``.onnx`` file names inside ``folder``. Any problem is one :class:`CheckpointError`.
    """
    path = folder / CONFIG_NAME
    try:
        with path.open("rb") as file:
            text = file.read(MAX_CONFIG_BYTES + 1)
        if len(text) > MAX_CONFIG_BYTES:
            raise ValueError(f"{CONFIG_NAME} is larger than {MAX_CONFIG_BYTES} bytes")
        config = json.loads(text)
    except (OSError, ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{folder}: not an exported pyramid ({reason})") from None
    try:
        _check_exported(config, folder, saved_tiling)
    except ConfigurationError as error:
        raise CheckpointError(
            f"{folder}: {CONFIG_NAME} does not describe a pyramid pyramidrefine can run: {error}"
        ) from None
    return config


def _check_exported(config: Any, folder: Path, saved_tiling: bool) -> None:
    if not isinstance(config, dict):
        raise ConfigurationError("it must hold a JSON object; write it with export")
    if config.get("format", "onnx") != "onnx":
        raise ConfigurationError(f"it is a {str(config['format'])[:20]!r} export, not an ONNX one")
    missing = [name for name in EXPORTED_SIZES if config.get(name) is None]
    if missing or (config.get("levels") is None and config.get("base_size") is None):
        raise ConfigurationError(f"it lacks {', '.join(missing) or 'levels and base_size'}")
    check_settings(**{name: config.get(name) for name in (*EXPORTED_SIZES, *EXPORTED_OPTIONAL)})
    tile, overlap = config.get("tile"), config["overlap"]
    if tile is not None and overlap >= tile:
        raise ConfigurationError(f"need overlap < tile, got tile={tile}, overlap={overlap}")
    if saved_tiling:
        check_saved_tiling(tile, overlap)
    if not isinstance(config.get("refiner", False), bool):
        raise ConfigurationError("refiner must be true or false")
    if config.get("refinement", "full") not in ("full", "detail"):
        raise ConfigurationError('refinement must be "full" or "detail"')
    names = config.get("generators")
    count = len(names) if isinstance(names, list) else 0
    most = SETTING_BOUNDS["levels"][1]
    if not 1 <= count <= most:
        raise ConfigurationError(f"generators must be a list of 1 to {most} file names")
    for name in names:
        if not isinstance(name, str) or not _GENERATOR_FILE.fullmatch(name):
            raise ConfigurationError(
                f"generator {json.dumps(name)[:80]} is not a plain .onnx file name in the folder"
            )
        file = folder / name
        if not file.is_file() or not file.resolve().is_relative_to(folder.resolve()):
            raise ConfigurationError(f"generator {name} is not a file in the folder")
    expected = 2 if config.get("refiner", False) else config.get("levels")
    if count > 1 and count != expected:
        raise ConfigurationError(
            f"{count} generators for levels={expected} (one shared, or one per level)"
        )


def resize(x: np.ndarray, size: geometry.Size) -> np.ndarray:
    """Bilinear resize of ``B×C×H×W`` (antialiased when shrinking), as ``tiling.resize``."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    rows = _weights(x.shape[-2], size[0])
    cols = _weights(x.shape[-1], size[1])
    return np.einsum("oh,bchw,pw->bcop", rows, x, cols, optimize=True).astype(np.float32)


@cache
def _weights(in_size: int, out_size: int) -> np.ndarray:
    """``out×in`` matrix of PyTorch's antialiased bilinear (triangle filter) interpolation."""
    scale = in_size / out_size
    support = scale if scale >= 1.0 else 1.0
    inverse = 1.0 / scale if scale >= 1.0 else 1.0
    matrix = np.zeros((out_size, in_size), np.float64)
    for i in range(out_size):
        center = scale * (i + 0.5)
        start = max(int(center - support + 0.5), 0)
        stop = min(int(center + support + 0.5), in_size)
        taps = np.arange(start, stop)
        weights = np.clip(1.0 - np.abs((taps - center + 0.5) * inverse), 0.0, None)
        matrix[i, start:stop] = weights / weights.sum()
    return matrix.astype(np.float32)
