"""How a pyramid level runs within a memory budget: in one pass, or in which tiles, how many
at once. Plain arithmetic without torch, beside :mod:`~pyramidrefine.geometry`'s, so that any
runner (torch, onnxruntime) plans alike given the bytes a pixel of its generator costs.

A level holds full-size buffers (input, prior, output, blending weights) and, while its
generator runs, activations proportional to the pixels of the pass. A level tiles when
its pass would not fit, into the tiles that fit with the least work (padded pixels,
overlaps included), and its tiles run in batches as large as fit.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import geometry
from .errors import ConfigurationError
from .geometry import Size

# Headroom over the tensor bytes that profiling.peak_tensor_bytes counts, for allocator
# slack and library scratch space (measured: docs/benchmarks.md, "Measured facts behind
# constants").
ALLOCATOR_MARGIN = 1.25
# Bytes per pixel of each full-size float32 channel a level holds besides its generator's
# activations.
BUFFER_BYTES_PER_CHANNEL = 4
# The pyramid's share of a budget never falls under this (or the budget, if smaller),
# whatever the caller holds: tiles of a few pixels would take forever.
MIN_PYRAMID_BYTES = 256 * 1024**2

_reserved = contextvars.ContextVar("pyramidrefine_reserved_bytes", default=0)


@contextlib.contextmanager
def reserved_memory(nbytes: int) -> Iterator[None]:
    """Within the block, plans leave ``nbytes`` of every memory budget to the caller (the
    runtime, the photo's full-size buffers: see :class:`~pyramidrefine.Pipeline`)."""
    token = _reserved.set(max(0, int(nbytes)))
    try:
        yield
    finally:
        _reserved.reset(token)


def pyramid_budget(memory_budget: int | None) -> int | None:
    """The bytes a level may plan with: ``memory_budget`` less what the caller reserved
    (:func:`reserved_memory`), at least :data:`MIN_PYRAMID_BYTES` (or the budget)."""
    if memory_budget is None:
        return None
    floor = min(memory_budget, MIN_PYRAMID_BYTES)
    return max(floor, memory_budget - _reserved.get())


@dataclass(frozen=True)
class TilePlan:
    """How one level runs: tile (height, width) (``None``: in one pass) and tiles per batch."""

    tile: Size | None
    batch_size: int = 1


def check_overlap(tile: int | None, overlap: int) -> None:
    """Refuse an ``overlap`` outside ``[0, tile)``."""
    if tile is not None and not 0 <= overlap < tile:
        raise ConfigurationError(f"need 0 <= overlap < tile, got tile={tile}, overlap={overlap}")


def check_budget(memory_budget: object) -> None:
    """Refuse a memory budget that is not a positive number of bytes or ``None``."""
    if memory_budget is not None and (not isinstance(memory_budget, int) or memory_budget < 1):
        raise ConfigurationError(
            f"memory_budget must be a positive number of bytes or None, got {memory_budget!r}"
        )


def plan_level(
    height: int,
    width: int,
    *,
    batch: int,
    tile: int | None,
    overlap: int,
    pad_multiple: int,
    memory_budget: int | None,
    buffer_channels: int,
    bytes_per_pixel: Callable[[], float],
) -> TilePlan:
    """How a ``batch × height × width`` level runs.

    An explicit ``tile`` tiles levels larger than it; otherwise, with a ``memory_budget``
    (bytes), a level tiles when its pass would not fit. With a budget, tiles run in batches
    as large as fit; without, one by one. ``buffer_channels``: full-size float32 channels
    the level holds; ``bytes_per_pixel()``: peak activation bytes per generator input
    pixel, called only when the budget decides.
    """
    explicit = None if tile is None else (tile, tile)
    if tile is not None and max(height, width) <= tile:
        return TilePlan(None)
    if memory_budget is None:
        return TilePlan(explicit)
    buffers = batch * height * width * buffer_channels * BUFFER_BYTES_PER_CHANNEL
    pixels = pixels_within_budget(memory_budget - buffers, batch, bytes_per_pixel())
    if explicit is None and padded_pixels(height, width, pad_multiple) <= pixels:
        return TilePlan(None)
    chosen = explicit or least_work_tile(height, width, pixels, pad_multiple, overlap)
    tile_pixels = padded_pixels(min(chosen[0], height), min(chosen[1], width), pad_multiple)
    return TilePlan(chosen, max(1, pixels // tile_pixels))


def pixels_within_budget(budget: float, batch: int, bytes_per_pixel: float) -> int:
    """Generator input pixels (per image of the batch) whose activations fit ``budget``."""
    return max(0, int(budget / (ALLOCATOR_MARGIN * bytes_per_pixel)) // batch)


def least_work_tile(height: int, width: int, pixels: int, pad_multiple: int, overlap: int) -> Size:
    """Tile (height, width) whose padded area fits ``pixels`` with the least total work.

    Work: padded pixels summed over the tiles. Sides are multiples of ``pad_multiple`` (or
    the whole side), never below twice it nor four times ``overlap``.
    """
    smallest = max(2 * pad_multiple, 4 * overlap)
    best: tuple[tuple[int, int], Size] | None = None
    for rows in range(1, max(1, height // smallest) + 1):
        tile_h = tile_length(height, rows, overlap, pad_multiple)
        for cols in range(1, max(1, width // smallest) + 1):
            tile_w = tile_length(width, cols, overlap, pad_multiple)
            area = padded_pixels(tile_h, tile_w, pad_multiple)
            if area <= pixels:  # the fewest columns that fit: the least overlap
                count = len(geometry.tile_starts(height, tile_h, overlap)) * len(
                    geometry.tile_starts(width, tile_w, overlap)
                )
                if best is None or (count * area, count) < best[0]:
                    best = (count * area, count), (tile_h, tile_w)
                break
    return best[1] if best is not None else (smallest, smallest)


def tile_length(length: int, count: int, overlap: int, multiple: int) -> int:
    """Shortest side, rounded up to ``multiple``, with which ``count`` tiles cover ``length``
    (overlapping by at least ``overlap``)."""
    side = -(-(length + (count - 1) * overlap) // count)
    return min(length, -(-side // multiple) * multiple)


def padded_pixels(height: int, width: int, multiple: int) -> int:
    """Pixels of a ``height × width`` pass once padded as the generator needs."""
    pad_h, pad_w, _ = geometry.padding(height, width, multiple, 2 * multiple)
    return (height + pad_h) * (width + pad_w)
