"""Spatial helpers shared by the pyramid and the patchwise method: resize, pad, tile and blend.

Plain functions on ``B×C×H×W`` tensors (kornia-style): batched, differentiable, any device.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from . import geometry
from .geometry import Size, padding, tile_starts, tiles

__all__ = [
    "Size",
    "blend_window",
    "pad_to_multiple",
    "resize",
    "tile_borders",
    "tile_starts",
    "tiled_apply",
]


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
    pad_h, pad_w, mode = padding(*x.shape[-2:], multiple, min_size)
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


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


def blend_window(size: Size, overlap: int, taper: tuple[bool, bool, bool, bool]) -> torch.Tensor:
    """``1×1×h×w`` blending weights; ``taper`` = (top, bottom, left, right) sides to fade."""
    return torch.from_numpy(geometry.blend_window(size, overlap, taper))


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
    output = weight_sum = None
    for rows, cols, taper in tiles(height, width, tile, overlap):
        prediction = fn(x[..., rows, cols])
        if output is None:
            dtype = torch.promote_types(prediction.dtype, torch.float32)
            output = x.new_zeros((x.shape[0], prediction.shape[1], height, width), dtype=dtype)
            weight_sum = x.new_zeros((1, 1, height, width), dtype=dtype)
        window = blend_window(tuple(prediction.shape[-2:]), overlap, taper).to(output)
        output[..., rows, cols] += prediction * window
        weight_sum[..., rows, cols] += window
    return output / weight_sum
