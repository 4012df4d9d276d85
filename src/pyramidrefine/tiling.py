"""Spatial helpers shared by the pyramid and the patchwise method: resize, pad, tile and blend.

Plain functions on ``B×C×H×W`` tensors (kornia-style): batched, differentiable, any device.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.nn import functional as F

Size = tuple[int, int]


def resize(x: torch.Tensor, size: Size) -> torch.Tensor:
    """Bilinear resize to ``size`` (antialiased when shrinking); returns ``x`` if unchanged.

    Computed in float32 (CPU kernels of antialiased resizing lack bfloat16).
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    resized = F.interpolate(
        x.float(), size=size, mode="bilinear", align_corners=False, antialias=True
    )
    return resized.to(x.dtype)


def pad_to_multiple(x: torch.Tensor, multiple: int, min_size: int = 1) -> torch.Tensor:
    """Pad bottom and right so both sides are multiples of ``multiple`` and ``>= min_size``.

    Reflect padding where the image is large enough, replicate padding otherwise.
    """
    height, width = x.shape[-2:]
    pad_h = max(height + -height % multiple, min_size) - height
    pad_w = max(width + -width % multiple, min_size) - width
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread starts of tiles of size ``tile`` covering ``length`` with ≥ ``overlap``."""
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tile_borders(height: int, width: int, tile: int, overlap: int) -> tuple[list[int], list[int]]:
    """Inner rows and columns where a tile of :func:`tiled_apply` starts or ends.

    These are the lines where a seam can appear in a reassembled image; a border ``r``
    lies between pixel rows ``r - 1`` and ``r`` (as :func:`~pyramidrefine.metrics.seam_index`
    takes them). Empty lists when one tile covers that side.
    """

    def borders(length: int) -> list[int]:
        size = min(tile, length)
        starts = tile_starts(length, size, overlap)
        edges = set(starts[1:]) | {start + size for start in starts[:-1]}
        return sorted(edges)

    return borders(height), borders(width)


def _ramp(length: int, overlap: int, taper_start: bool, taper_end: bool) -> torch.Tensor:
    """1-D weights: 1 inside, a raised-cosine rise over ``overlap`` pixels at tapered ends."""
    weights = torch.ones(length)
    ramp_length = min(overlap, length // 2)
    if ramp_length > 0:
        t = (torch.arange(ramp_length) + 0.5) / ramp_length
        rise = torch.sin(t * math.pi / 2) ** 2  # strictly positive, smooth
        if taper_start:
            weights[:ramp_length] = rise
        if taper_end:
            weights[-ramp_length:] = rise.flip(0)
    return weights


def blend_window(size: Size, overlap: int, taper: tuple[bool, bool, bool, bool]) -> torch.Tensor:
    """``1×1×h×w`` blending weights; ``taper`` = (top, bottom, left, right) sides to fade."""
    top, bottom, left, right = taper
    rows = _ramp(size[0], overlap, top, bottom)
    cols = _ramp(size[1], overlap, left, right)
    return torch.outer(rows, cols)[None, None]


def tiled_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    tile: int,
    overlap: int,
) -> torch.Tensor:
    """Apply ``fn`` tile by tile over ``x`` and blend overlapping results with a smooth window.

    ``fn`` maps ``B×C×h×w`` to ``B×C'×h×w``. Tiles are ``tile×tile`` (smaller only where
    the image is) and overlap by at least ``overlap`` pixels; each output pixel is the
    weighted mean of the tiles covering it, weights fading only towards inner tile borders,
    so a single tile covering ``x`` returns exactly ``fn(x)``.
    """
    height, width = x.shape[-2:]
    tile_h, tile_w = min(tile, height), min(tile, width)
    output = weight_sum = None
    for top in tile_starts(height, tile_h, overlap):
        for left in tile_starts(width, tile_w, overlap):
            rows, cols = slice(top, top + tile_h), slice(left, left + tile_w)
            prediction = fn(x[..., rows, cols])
            if output is None:
                dtype = torch.promote_types(prediction.dtype, torch.float32)
                output = x.new_zeros((x.shape[0], prediction.shape[1], height, width), dtype=dtype)
                weight_sum = x.new_zeros((1, 1, height, width), dtype=dtype)
            taper = (top > 0, top + tile_h < height, left > 0, left + tile_w < width)
            window = blend_window((tile_h, tile_w), overlap, taper).to(output)
            output[..., rows, cols] += prediction * window
            weight_sum[..., rows, cols] += window
    return output / weight_sum
