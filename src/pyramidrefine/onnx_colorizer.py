"""Colour photos with an exported colorizer, without torch: PIL or NumPy in, PIL out.

Needs only ``onnxruntime``, ``numpy`` and ``pillow`` and the folder that
``pyramidrefine export --format onnx`` wrote; the pyramid runs in
:class:`~pyramidrefine.onnx_runtime.OnnxCoarseToFine` and the colour conversions in
:mod:`pyramidrefine.lab`, as :class:`~pyramidrefine.Colorizer` computes them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .choices import DEFAULT_MAX_NETWORK_SIDE, check_network_side
from .errors import ConfigurationError, ImageReadError, InvalidInputError
from .geometry import scale_long_side
from .lab import AB_SCALE, L_SCALE, fit_into_gamut, rgb_to_lab
from .onnx_runtime import OnnxCoarseToFine, resize

OnnxImageLike = Image.Image | np.ndarray | str | os.PathLike


class OnnxColorizer:
    """A colorizer exported to ONNX, run by onnxruntime: grey photos in, colour ones out.

    Args:
        folder: what ``pyramidrefine export --format onnx`` wrote for a colorizer.
        max_network_side: a larger photo is coloured at this long side and its chroma
            upsampled bilinearly under the full-resolution L, as
            :class:`~pyramidrefine.Colorizer` does (``None``: the whole size).
        **options: ``providers``, ``tile``, ``overlap``, ``threads``, as for
            :class:`~pyramidrefine.onnx_runtime.OnnxCoarseToFine`.

    A call takes a PIL image, a path, or a NumPy array (``H×W``, ``H×W×1`` or ``H×W×3``;
    uint8, or float in [0, 1]) and returns an RGB PIL image of its size with exactly its
    luminance (L of Lab): colour inputs are reduced to their luminance first.
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        *,
        max_network_side: int | None = DEFAULT_MAX_NETWORK_SIDE,
        **options: Any,
    ) -> None:
        check_network_side(max_network_side)
        self.max_network_side = max_network_side
        self.model = OnnxCoarseToFine(folder, **options)
        if (self.model.in_channels, self.model.out_channels) != (1, 2):
            raise ConfigurationError(
                f"{folder}: an export mapping {self.model.in_channels} channels to "
                f"{self.model.out_channels}, not a colorizer (1 channel, L, to 2, ab)"
            )

    def __call__(self, image: OnnxImageLike) -> Image.Image:
        """The colour version of ``image``."""
        lab = rgb_to_lab(as_rgb(image))
        lightness = lab[..., :1]
        ab = self.chroma((lightness / L_SCALE - 1.0).transpose(2, 0, 1)[None])[0]
        lab = np.concatenate([np.clip(lightness, 0.0, 100.0), ab.transpose(1, 2, 0) * AB_SCALE], -1)
        return Image.fromarray(np.round(fit_into_gamut(lab) * 255).astype(np.uint8), "RGB")

    def chroma(self, lightness: np.ndarray) -> np.ndarray:
        """``1×2×H×W`` normalised ab for ``1×1×H×W`` normalised L, predicted at most at
        ``max_network_side`` and brought back to ``H×W``."""
        full = lightness.shape[-2:]
        size = full
        if self.max_network_side is not None:
            size = scale_long_side(*full, self.max_network_side, enlarge=False)
        if size == full:
            return self.model(lightness)
        return resize(self.model(resize(lightness, size)), full)


def as_rgb(image: OnnxImageLike) -> np.ndarray:
    """``H×W×3`` float32 RGB in [0, 1] of a PIL image, a path or an array (see
    :class:`OnnxColorizer`); a one-line :class:`InvalidInputError` for anything else."""
    if isinstance(image, str | os.PathLike):
        image = _open(Path(image))
    if isinstance(image, Image.Image):
        image = _pixels(image)
    if not isinstance(image, np.ndarray):
        raise InvalidInputError(
            f"expected a PIL image, a path or a NumPy array, got {type(image).__name__}"
        )
    array = image[..., None] if image.ndim == 2 else image
    if array.ndim != 3 or array.shape[-1] not in (1, 3) or min(array.shape[:2]) < 1:
        raise InvalidInputError(
            f"expected an H×W, H×W×1 or H×W×3 image array, got shape {image.shape}"
        )
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
            raise InvalidInputError("a float image array must hold finite values in [0, 1]")
        array = array.astype(np.float32)
    else:
        raise InvalidInputError(f"expected uint8 or float pixels, got {array.dtype}")
    return np.broadcast_to(array, (*array.shape[:2], 3))


def _pixels(image: Image.Image) -> np.ndarray:
    """8-bit grey or RGB pixels; 16-bit and float grey images as float in [0, 1]."""
    if image.mode.startswith("I") or image.mode == "F":
        peak = 1.0 if image.mode == "F" else 65535.0
        return np.clip(np.nan_to_num(np.asarray(image, np.float32) / peak), 0.0, 1.0)
    return np.asarray(image.convert("L" if image.mode in ("1", "L", "LA", "La") else "RGB"))


def _open(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.load()
            return ImageOps.exif_transpose(image)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ImageReadError(f"{path}: not a readable image ({error})") from None
