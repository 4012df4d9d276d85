"""Inference methods: the same trained weights run as pyramid, baseline, patchwise or low-res.

``apply_method(model, name)`` returns a function ``B×C×H×W → B×C'×H×W``:

- ``pyramid``: the model as configured (optionally with another ``base_size``);
- ``pyramid-tiled``: the pyramid with levels larger than ``tile`` run tile by tile;
- ``baseline``: one full-resolution pass (``levels=1``);
- ``patchwise``: one full-resolution pass tile by tile (``levels=1, tile=...``);
- ``lowres``: the trick of popular colorizers (DeOldify's ``render_factor``, DDColor):
  predict on the input shrunk to a long side of ``base_size``, then upsample the
  prediction bilinearly (the caller keeps the full-resolution input, e.g. L);
- ``lowres-guided``: ``lowres`` with the upsampled prediction refined by a guided filter
  steered by the full-resolution input (normalised to [-1, 1], as the colorization task's
  L), so that colour edges follow its edges.

The low-res pass is the pyramid at the small size: a single level when ``base_size`` is
given or the model has one (the image then fits the coarsest level), else the model's
fixed ``levels``.

Every method but ``baseline`` (one full-resolution pass by definition) can run within a
memory budget: levels that would not fit run tile by tile, tiles in batches that fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from kornia.filters import guided_blur

from . import choices
from .choices import METHOD_TABLE, METHODS, MIN_TILE
from .errors import ConfigurationError
from .geometry import scale_long_side, tile_starts
from .guides import sparse_resize
from .pyramid import CoarseToFine
from .tiling import resize

# x → prediction; every method also takes a guide (``guide=``, e.g. colour hints).
Predictor = Callable[..., torch.Tensor]

# Guided filter on a guidance in [0, 1]: local L contrasts with a standard deviation above
# about sqrt(eps) ≈ 0.03 (3 L units) are edges that the colour should follow.
GUIDED_EPS = 1e-3


@dataclass(frozen=True)
class Settings:
    """What :func:`apply_method` was given (``None``: the method's default)."""

    tile: int | None
    overlap: int | None
    base_size: int | None
    memory_budget: int | None

    def budget(self) -> dict[str, int]:
        """The memory budget, where given."""
        return {} if self.memory_budget is None else {"memory_budget": self.memory_budget}

    def pyramid(self) -> dict[str, Any]:
        """The pyramid's settings: the memory budget and the base size, where given."""
        size = {} if self.base_size is None else {"base_size": self.base_size}
        return self.budget() | size

    def tiling(self, tile: int) -> dict[str, int]:
        """``tile`` and the overlap: given, else ``choices.DEFAULT_OVERLAP`` (at most a
        quarter of the tile)."""
        default = min(choices.DEFAULT_OVERLAP, tile // 4)
        overlap = self.overlap if self.overlap is not None else default
        return {"tile": tile, "overlap": overlap}

    def base(self, model: CoarseToFine) -> int:
        """The coarsest long side: given, else the model's, else
        ``choices.DEFAULT_BASE_SIZE``."""
        return self.base_size or model.base_size or choices.DEFAULT_BASE_SIZE


def pyramid(model: CoarseToFine, settings: Settings) -> Predictor:
    """The model as configured (optionally with another base size): itself if nothing is
    given."""
    given = settings.pyramid()
    return model.with_settings(**given) if given else model


def pyramid_tiled(model: CoarseToFine, settings: Settings) -> Predictor:
    """The pyramid with levels larger than the tile run tile by tile."""
    tiling = settings.tiling(settings.tile or choices.DEFAULT_TILE)
    return model.with_settings(**settings.pyramid(), **tiling)


def baseline(model: CoarseToFine, settings: Settings) -> Predictor:
    """One full-resolution pass, unbounded."""
    return model.with_settings(levels=1, tile=None, memory_budget=None)


def patchwise(model: CoarseToFine, settings: Settings) -> Predictor:
    """One full-resolution pass tile by tile (default tile: the base size)."""
    tiling = settings.tiling(settings.tile or settings.base(model))
    return model.with_settings(levels=1, **tiling, **settings.budget())


def lowres(model: CoarseToFine, settings: Settings) -> Predictor:
    """Predict at the base size, upsample bilinearly."""
    return LowRes(pyramid(model, settings), settings.base(model))


def lowres_guided(model: CoarseToFine, settings: Settings) -> Predictor:
    """:func:`lowres`, the upsampled prediction refined by a guided filter."""
    return LowRes(pyramid(model, settings), settings.base(model), guided=True)


# The builder of each method of :data:`~pyramidrefine.choices.METHOD_TABLE`, by name.
BUILDERS: dict[str, Callable[[CoarseToFine, Settings], Predictor]] = {
    "pyramid": pyramid,
    "pyramid-tiled": pyramid_tiled,
    "baseline": baseline,
    "patchwise": patchwise,
    "lowres": lowres,
    "lowres-guided": lowres_guided,
}
assert set(BUILDERS) == set(METHODS)


def apply_method(
    model: CoarseToFine,
    method: str,
    *,
    tile: int | None = None,
    overlap: int | None = None,
    base_size: int | None = None,
    memory_budget: int | None = None,
) -> Predictor:
    """``model``'s weights run by ``method`` (one of :data:`METHODS`).

    ``tile`` (``pyramid-tiled``: default 512; ``patchwise``: default the base size) and
    ``overlap`` (default 64, at most a quarter of the tile) set the tiling; ``base_size``
    is the coarsest level's long side for the pyramids and the working size of the low-res
    methods (default: the model's, else 256); ``patchwise`` takes it as its default tile.
    ``memory_budget`` (bytes; ``None``: the model's, unbounded unless set) bounds every
    method but ``baseline``: see :meth:`CoarseToFine.tile_plan`. The defaults are those of
    :mod:`pyramidrefine.choices`.
    """
    if method not in METHOD_TABLE:
        raise ConfigurationError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    given = {
        name
        for name, value in (("tile", tile), ("overlap", overlap), ("base_size", base_size))
        if value is not None
    }
    unused = given - METHOD_TABLE[method].options
    if unused:
        raise ConfigurationError(f"method {method!r} does not take {', '.join(sorted(unused))}")
    return BUILDERS[method](model, Settings(tile, overlap, base_size, memory_budget))


def check_tiling(predictor: Predictor) -> None:
    """Refuse the tilings the commands and the demo do not run: tiles under
    :data:`MIN_TILE` pixels, or an overlap of half the tile or more (the tiles' starts then
    lie a few pixels apart); a one-line :class:`ConfigurationError`."""
    model = predictor
    while isinstance(model, LowRes):
        model = model.model
    tile = getattr(model, "tile", None)
    if tile is None:
        return
    if tile < MIN_TILE:
        raise ConfigurationError(
            f"tiles of {tile} pixels are under the minimum of {MIN_TILE} (each tile is a "
            f"pass of the generator); give a tile of {MIN_TILE} or more (--tile)"
        )
    if 2 * model.overlap >= tile:
        raise ConfigurationError(
            f"an overlap of {model.overlap} pixels is half the tile ({tile}) or more; give "
            f"an overlap under {(tile + 1) // 2} (--overlap) or a larger tile"
        )


def generator_pixels(predictor: Predictor, height: int, width: int) -> int:
    """Pixels the generators of ``predictor`` (from :func:`apply_method`) go over for one
    ``height×width`` image: every level, tiles whole (overlaps counted each time they are
    run). Tiling for a memory budget adds overlaps only and is left out."""
    if isinstance(predictor, LowRes):
        small = scale_long_side(height, width, predictor.size, enlarge=False)
        return generator_pixels(predictor.model, *small)
    if not isinstance(predictor, CoarseToFine):
        return height * width
    total = 0
    for level_height, level_width in predictor.level_sizes(height, width):
        tile = predictor.tile or max(level_height, level_width)
        rows, cols = min(tile, level_height), min(tile, level_width)
        count = len(tile_starts(level_height, rows, predictor.overlap)) * len(
            tile_starts(level_width, cols, predictor.overlap)
        )
        total += count * rows * cols
    return total


@dataclass(frozen=True)
class LowRes:
    """Predict at a long side of ``size`` (never enlarging), upsample, optionally guided."""

    model: Predictor
    size: int
    guided: bool = False

    def __call__(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        height, width = x.shape[-2:]
        small, small_guide = shrink_to_long_side(x, guide, self.size)
        hinted = {} if small_guide is None else {"guide": small_guide}
        prediction = self.model(small, **hinted)
        if small.shape[-2:] == (height, width):
            return prediction
        if self.guided:
            return upsample_guided(prediction, (x + 1) / 2)
        return resize(prediction, (height, width))


def shrink_to_long_side(
    x: torch.Tensor, guide: torch.Tensor | None, long_side: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``x`` (resized) and its ``guide`` (sparsely resized) at a long side of at most
    ``long_side``; both as given when they are no larger."""
    size = scale_long_side(*x.shape[-2:], long_side, enlarge=False)
    if size == tuple(x.shape[-2:]):
        return x, guide
    return resize(x, size), None if guide is None else sparse_resize(guide, size)


def upsample_guided(prediction: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
    """Upsample ``prediction`` to ``guidance``'s size, then guided-filter it by ``guidance``.

    ``guidance`` lies in [0, 1]. The filter's radius is the upsampling factor, so each
    window spans the two low-res pixels a bilinear ramp blends; ``eps`` is
    :data:`GUIDED_EPS`. Runs in float32 outside autocast (box-filter variances need it).
    """
    size = guidance.shape[-2:]
    radius = max(1, math.ceil(max(s / p for s, p in zip(size, prediction.shape[-2:], strict=True))))
    with torch.autocast(guidance.device.type, enabled=False):
        upsampled = resize(prediction.float(), size)
        return guided_blur(guidance.float(), upsampled, 2 * radius + 1, GUIDED_EPS, separable=True)
