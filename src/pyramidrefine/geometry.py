"""Pyramid and tiling arithmetic without torch: level sizes, padding, tile starts, blend ramps.

Shared by :class:`~pyramidrefine.CoarseToFine` and the NumPy/onnxruntime pipeline
(:mod:`pyramidrefine.onnx_runtime`), so that both cut images the same way.
"""

from __future__ import annotations

import math

import numpy as np

Size = tuple[int, int]


def level_rule(refinement: str, level: int, decision_levels: int) -> str:
    """The rule ``level`` runs under: ``"full"`` for the ``decision_levels`` coarsest levels
    (they decide the colour together, :mod:`pyramidrefine.bands`), ``refinement`` for the
    finer ones."""
    return "full" if level < decision_levels else refinement


def low_band_size(height: int, width: int) -> Size:
    """The size a level's low band is taken at (:mod:`pyramidrefine.bands`): half its own,
    rounded up, at least one pixel."""
    return max(1, -(-height // 2)), max(1, -(-width // 2))


def num_levels(
    height: int,
    width: int,
    levels: int | None,
    base_size: int | None,
    max_levels: int | None = None,
) -> int:
    """``levels`` if fixed, else the count that brings the long side to ``<= base_size``,
    at most ``max_levels`` (then the coarsest level is larger than ``base_size``)."""
    if levels is not None:
        return levels
    count, long_side = 1, max(height, width)
    while long_side / 2 ** (count - 1) > base_size and count != max_levels:
        count += 1
    return count


def level_sizes(
    height: int,
    width: int,
    levels: int | None,
    base_size: int | None,
    max_levels: int | None = None,
) -> list[Size]:
    """(height, width) of every level, coarsest first; the last is the input's size."""
    count = num_levels(height, width, levels, base_size, max_levels)
    return [
        (max(1, round(height / 2**scale)), max(1, round(width / 2**scale)))
        for scale in range(count - 1, -1, -1)
    ]


def scale_long_side(height: int, width: int, long_side: float, *, enlarge: bool = True) -> Size:
    """``(height, width)`` scaled so that the long side is ``long_side`` (not above the
    input's unless ``enlarge``), each side rounded and at least 1. Symmetric: a PIL
    ``(width, height)`` gives ``(width, height)``."""
    scale = long_side / max(height, width)
    if not enlarge:
        scale = min(1.0, scale)
    return max(1, round(height * scale)), max(1, round(width * scale))


def generator_index(level: int, count: int, *, refiner: bool) -> int:
    """Which of ``count`` generators runs ``level``: the only one, the coarse one at level 0
    and the refiner above (``refiner``), or one per level."""
    if refiner:
        return min(level, 1)
    return 0 if count == 1 else level


def padding(height: int, width: int, multiple: int, min_size: int = 1) -> tuple[int, int, str]:
    """Bottom and right padding to multiples of ``multiple`` (``>= min_size``), and its mode.

    Reflect padding where the image is large enough, replicate padding otherwise.
    """
    pad_h = max(height + -height % multiple, min_size) - height
    pad_w = max(width + -width % multiple, min_size) - width
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return pad_h, pad_w, mode


DITHER_SEED = 0


def dither_noise(height: int, width: int) -> np.ndarray:
    """A fixed ``height×width`` float32 field of standard normal noise: the same for every
    run, batch and backend (torch and the NumPy runtime add the same dither)."""
    return np.random.default_rng(DITHER_SEED).standard_normal((height, width), dtype=np.float32)


def margin_mode(height: int, width: int, margin: int) -> str:
    """How a margin of ``margin`` pixels around a ``height×width`` image is filled: mirrored
    (``"reflect"``) where the image is larger than the margin, its edge repeated otherwise."""
    return "reflect" if margin < height and margin < width else "replicate"


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread starts of tiles of size ``tile`` covering ``length`` with ≥ ``overlap``."""
    if length <= tile:
        return [0]
    count = math.ceil((length - tile) / (tile - overlap)) + 1
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def ramp(length: int, overlap: int, taper_start: bool, taper_end: bool) -> np.ndarray:
    """1-D float32 weights: 1 inside, a raised-cosine rise over ``overlap`` pixels at ends."""
    weights = np.ones(length, np.float32)
    ramp_length = min(overlap, length // 2)
    if ramp_length > 0:
        t = (np.arange(ramp_length, dtype=np.float32) + 0.5) / ramp_length
        rise = np.sin(t * np.float32(math.pi / 2)) ** 2  # strictly positive, smooth
        if taper_start:
            weights[:ramp_length] = rise
        if taper_end:
            weights[-ramp_length:] = rise[::-1]
    return weights


def blend_window(size: Size, overlap: int, taper: tuple[bool, bool, bool, bool]) -> np.ndarray:
    """``1×1×h×w`` float32 blending weights; ``taper`` = (top, bottom, left, right) to fade."""
    top, bottom, left, right = taper
    return np.outer(ramp(size[0], overlap, top, bottom), ramp(size[1], overlap, left, right))[
        None, None
    ]


def tiles(height: int, width: int, tile: int | Size, overlap: int):
    """``(rows, cols, taper)`` of every tile of a ``height×width`` image, row by row.

    ``tile`` is a side, or a (height, width) for rectangular tiles.
    """
    tile_h, tile_w = (tile, tile) if isinstance(tile, int) else tile
    tile_h, tile_w = min(tile_h, height), min(tile_w, width)
    for top in tile_starts(height, tile_h, overlap):
        for left in tile_starts(width, tile_w, overlap):
            taper = (top > 0, top + tile_h < height, left > 0, left + tile_w < width)
            yield slice(top, top + tile_h), slice(left, left + tile_w), taper
