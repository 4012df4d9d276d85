"""Spatial helpers shared by the pyramid and the patchwise method: resize, pad, tile and blend.

Plain functions on ``B×C×H×W`` tensors (kornia-style): batched, differentiable, any device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from einops import rearrange
from torch.nn import functional as F

from . import geometry, progress
from .geometry import Size, margin_mode, padding, tile_starts, tiles

__all__ = [
    "Size",
    "add_dither",
    "blend_window",
    "crop_margin",
    "pad_margin",
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


def resize_rows(x: torch.Tensor, size: Size, top: int, rows: int) -> torch.Tensor:
    """Rows ``top:top + rows`` of ``resize(x, size)`` where ``size`` is at least ``x``'s
    (upsampling), from the source rows they need: a band of a large upsampling without
    computing the whole. Bilinear as :func:`resize` (half-pixel centres, edges clamped)."""
    height, width = size
    rows = min(rows, height - top)
    source_height = x.shape[-2]
    if source_height == height:
        return resize(x[..., top : top + rows, :], (rows, width))
    centres = torch.arange(top, top + rows, dtype=torch.float32, device=x.device) + 0.5
    position = (centres * (source_height / height) - 0.5).clamp(min=0)
    low = position.floor().long().clamp(max=source_height - 1)
    high = (low + 1).clamp(max=source_height - 1)
    share = (position - low).view(-1, 1)
    source = x.float()
    band = source[..., low, :] * (1 - share) + source[..., high, :] * share
    return resize(band, (rows, width)).to(x.dtype)


def pad_to_multiple(x: torch.Tensor, multiple: int, min_size: int = 1) -> torch.Tensor:
    """Pad bottom and right so both sides are multiples of ``multiple`` and ``>= min_size``.

    Reflect padding where the image is large enough, replicate padding otherwise.
    """
    pad_h, pad_w, mode = padding(*x.shape[-2:], multiple, min_size)
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def add_dither(x: torch.Tensor, dither: float, channels: int) -> torch.Tensor:
    """``x`` with ``dither``·:func:`~pyramidrefine.geometry.dither_noise` added to its first
    ``channels`` channels (the same field for every image of the batch)."""
    if dither == 0:
        return x
    noise = torch.from_numpy(geometry.dither_noise(*x.shape[-2:])).to(x.device, x.dtype)
    return torch.cat([x[:, :channels] + dither * noise, x[:, channels:]], dim=1)


def pad_margin(x: torch.Tensor, margin: int) -> torch.Tensor:
    """``x`` with ``margin`` pixels on every side, mirrored
    (:func:`~pyramidrefine.geometry.margin_mode`)."""
    if margin == 0:
        return x
    return F.pad(x, (margin,) * 4, mode=margin_mode(*x.shape[-2:], margin))


def crop_margin(x: torch.Tensor, margin: int) -> torch.Tensor:
    """``x`` without ``margin`` pixels on every side: the inverse of :func:`pad_margin`."""
    if margin == 0:
        return x
    return x[..., margin : x.shape[-2] - margin, margin : x.shape[-1] - margin]


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
    fn: Callable[..., torch.Tensor],
    x: torch.Tensor | Sequence[torch.Tensor],
    tile: int | Size,
    overlap: int,
    *,
    batch_size: int = 1,
) -> torch.Tensor:
    """Apply ``fn`` tile by tile over ``x`` and blend overlapping results with a smooth window.

    ``fn`` maps ``B×C×h×w`` to ``B×C'×h×w``; ``x`` may also be several tensors of one
    height and width (e.g. an input and its prior), which ``fn`` then receives cropped
    alike, as separate arguments. Tiles are ``tile×tile``, or ``tile[0]×tile[1]`` for a
    pair (smaller only where the image is), and overlap by at least ``overlap`` pixels;
    each output pixel is the weighted mean of the tiles covering it, weights fading only
    towards inner tile borders, so a single tile covering ``x`` returns exactly ``fn(x)``.
    ``batch_size`` tiles go through ``fn`` at once (stacked along the batch axis); their
    results are blended into one output buffer. Each batch done is reported to
    :mod:`~pyramidrefine.progress`.
    """
    inputs = (x,) if isinstance(x, torch.Tensor) else tuple(x)
    batch, height, width = inputs[0].shape[0], *inputs[0].shape[-2:]
    output = weight_sum = None
    windows: dict[tuple, torch.Tensor] = {}
    all_tiles = list(tiles(height, width, tile, overlap))
    for start in range(0, len(all_tiles), batch_size):
        group = all_tiles[start : start + batch_size]
        crops = [_stack_crops(tensor, group) for tensor in inputs]
        predictions = rearrange(fn(*crops), "(n b) c h w -> n b c h w", n=len(group))
        if output is None:
            dtype = torch.promote_types(predictions.dtype, torch.float32)
            output = inputs[0].new_zeros((batch, predictions.shape[2], height, width), dtype=dtype)
            weight_sum = inputs[0].new_zeros((1, 1, height, width), dtype=dtype)
        for (rows, cols, taper), prediction in zip(group, predictions, strict=True):
            key = (*prediction.shape[-2:], taper)
            if key not in windows:
                windows[key] = blend_window(key[:2], overlap, taper).to(output)
            output[..., rows, cols].addcmul_(prediction, windows[key])
            weight_sum[..., rows, cols] += windows[key]
        progress.tiles_done(start + len(group), len(all_tiles))
    return output.div_(weight_sum)


def _stack_crops(x: torch.Tensor, group: list[tuple[slice, slice, tuple]]) -> torch.Tensor:
    """The crops of ``x`` at ``group``'s tiles, stacked tile-major along the batch axis."""
    if len(group) == 1:
        rows, cols, _ = group[0]
        return x[..., rows, cols]
    crops = torch.stack([x[..., rows, cols] for rows, cols, _ in group])
    return rearrange(crops, "n b c h w -> (n b) c h w")
