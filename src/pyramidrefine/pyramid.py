"""CoarseToFine: run one image-to-image generator over a pyramid of scales, coarse to fine.

For ``n`` levels, level ``k`` (0 = coarsest) works at ``1 / 2**(n-1-k)`` of the input size::

    prior = neutral
    for k in levels:
        x_k   = resize(x, size_k)
        pred  = G_k(concat(x_k, upsample(prior, size_k), guide_k))
        prior = pred
    return pred

The same object runs the methods we compare against: ``levels=1`` is the full-resolution
baseline and ``levels=1, tile=...`` the patchwise (tile, predict, reassemble) method. With
a ``memory_budget``, levels run in the tiles that fit (:mod:`~pyramidrefine.tile_planner`).
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from . import geometry, progress, tile_planner
from .bands import check_refinement, refine
from .checkpoints import SafeHubMixin
from .choices import DEFAULT_BASE_SIZE
from .errors import ConfigurationError
from .generators import peak_bytes_per_pixel, required_multiple
from .generators.build import GeneratorSpec, build_generators, check_output, input_channels
from .guides import check_inputs, sparse_resize
from .model_config import check_settings, without_pretrained_weights
from .tile_planner import TilePlan
from .tiling import (
    Size,
    add_dither,
    crop_margin,
    pad_margin,
    pad_to_multiple,
    resize,
    tiled_apply,
)

# What with_settings may change: how the weights run, not what they are.
VIEW_SETTINGS = (
    "levels",
    "base_size",
    "max_levels",
    "decision_levels",
    "margin",
    "dither",
    "dither_from",
    "tile",
    "overlap",
    "memory_budget",
)


class CoarseToFine(
    nn.Module,
    SafeHubMixin,
    library_name="pyramidrefine",
    repo_url="https://github.com/pyramidrefine/pyramidrefine",
    tags=["image-to-image", "pyramidrefine"],
):
    """Coarse-to-fine wrapper around any generator.

    Args:
        generator: a registered name (``"smp"``, ``"unet"``, see ``list_generators()``),
            a factory ``f(in_channels, out_channels, **kw) -> nn.Module``, a ready module,
            or a sequence of modules (one per level). Names and factories are called with
            ``in_channels + out_channels + 1 + guide_channels`` (input, prior, its flag, guide).
        in_channels: channels of the task's input (1 for colorization: L).
        out_channels: channels of the task's output (2 for colorization: ab).
        levels: fixed number of pyramid levels.
        base_size: long side of the coarsest level; the number of levels then follows the
            input (coarsest long side in ``(base_size/2, base_size]``). Default when
            ``levels`` is not given: 256.
        max_levels: with ``base_size``, run at most this many levels (larger inputs get a
            larger coarsest level); ``None``: no limit.
        shared: one generator for every level (default) or one per level (needs ``levels``).
        refiner: generator keyword arguments that differ for every level but the coarsest
            (e.g. ``{"decoder_channels": [64, 32, 24, 16, 8]}``): a coarse generator plus one
            refiner shared by the finer levels (pix2pixHD's global + local pattern). Needs
            a generator given by name or factory; ``None``: one generator for all levels.
        refinement: how a finer level uses its prior: ``"full"`` (the generator's output
            replaces it) or ``"detail"`` (it plus the output's detail band, :mod:`.bands`).
        decision_levels: with ``refinement="detail"``, the coarsest levels that run
            ``"full"`` and so decide the colour together (default 1: the coarsest alone).
        margin: pixels of the image mirrored around the input of every level that runs
            ``"full"``, so that its generator's zero padding meets image, not an edge
            (without it a colorizer paints a thin frame along the photo's edges and its
            coarse levels, where the edges are a large share of the pixels, come out
            paler); cropped off the output. ``0``: none.
        dither: standard deviation of a fixed noise field
            (:func:`~pyramidrefine.geometry.dither_noise`) added to the input of the levels
            from ``dither_from`` on that run ``"full"``. Photos carry grain; a large photo
            shrunk to a level of a few hundred pixels has lost it, and a generator that
            never saw a region so featureless can paint a blob into it (a flat sky at the
            third level). ``0``: none.
        dither_from: the first level that gets the ``dither`` (the coarser ones decide
            the colour of the whole photo, where noise reads as texture and warms it).
        tile: run levels whose height or width exceeds ``tile`` tile by tile.
        overlap: minimum overlap of neighbouring tiles, blended with a raised-cosine window.
        pad_multiple: side multiple the generator needs; read from the generator if omitted.
        guide_channels: channels of a guide given at the input's size, ``model(x, guide=g)``
            (colour hints: 3), each level's sparsely resized (:mod:`~pyramidrefine.guides`).
        **generator_kwargs: passed to the generator's factory (e.g. ``arch``, ``encoder_name``).
    """

    def __init__(
        self,
        generator: GeneratorSpec = "unet",
        *,
        in_channels: int,
        out_channels: int,
        levels: int | None = None,
        base_size: int | None = None,
        max_levels: int | None = None,
        shared: bool = True,
        refiner: dict[str, Any] | None = None,
        refinement: str = "full",
        decision_levels: int = 1,
        margin: int = 0,
        dither: float = 0.0,
        dither_from: int = 0,
        tile: int | None = None,
        overlap: int = 32,
        pad_multiple: int | None = None,
        guide_channels: int = 0,
        **generator_kwargs: Any,
    ) -> None:
        super().__init__()
        if levels is not None and base_size is not None:
            raise ConfigurationError("give either levels or base_size, not both")
        check_settings(
            in_channels=in_channels,
            out_channels=out_channels,
            levels=levels,
            base_size=base_size,
            max_levels=max_levels,
            tile=tile,
            overlap=overlap,
            pad_multiple=pad_multiple,
            guide_channels=guide_channels,
            decision_levels=decision_levels,
            margin=margin,
            dither=dither,
            dither_from=dither_from,
        )
        tile_planner.check_overlap(tile, overlap)
        check_refinement(refinement)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.guide_channels = guide_channels
        self.levels, self.max_levels = levels, max_levels
        self.base_size = None if levels is not None else (base_size or DEFAULT_BASE_SIZE)
        self.tile, self.overlap = tile, overlap
        self.memory_budget: int | None = None
        self._bytes_per_pixel: dict[tuple, float] = {}  # activation_bytes_per_pixel's cache
        self.refiner, self.refinement = refiner, refinement
        self.decision_levels, self.margin = decision_levels, margin
        self.dither, self.dither_from = dither, dither_from
        self.generators = build_generators(
            generator,
            in_channels,
            out_channels,
            levels=levels,
            shared=shared,
            refiner=refiner,
            kwargs=generator_kwargs,
            guide_channels=guide_channels,
        )
        self._generator_is_named = isinstance(generator, str)
        self.shared = len(self.generators) == 1 and shared
        self.pad_multiple = pad_multiple or required_multiple(self.generators[0])
        if hasattr(self, "_hub_mixin_config"):  # loading the saved weights needs no download
            self._hub_mixin_config = without_pretrained_weights(self._hub_mixin_config)

    @property
    def generator_in_channels(self) -> int:
        """Channels each generator receives: input, prior, the prior flag and the guide."""
        return input_channels(self.in_channels, self.out_channels, self.guide_channels)

    def generator_for(self, level: int) -> nn.Module:
        """The generator that runs ``level``."""
        refiner = self.refiner is not None
        index = geometry.generator_index(level, len(self.generators), refiner=refiner)
        return self.generators[index]

    def num_levels(self, height: int, width: int) -> int:
        """Number of levels used for an input of this size."""
        return geometry.num_levels(height, width, self.levels, self.base_size, self.max_levels)

    def level_sizes(self, height: int, width: int) -> list[Size]:
        """(height, width) of every level, coarsest first; the last is the input's size."""
        return geometry.level_sizes(height, width, self.levels, self.base_size, self.max_levels)

    def forward(self, x: Tensor, guide: Tensor | None = None) -> Tensor:
        """Predict ``B×out_channels×H×W`` for an input ``B×in_channels×H×W`` of any size
        (and a ``B×guide_channels×H×W`` guide; ``None``: zeros, no hint)."""
        return deque(self._level_predictions(x, guide), maxlen=1).pop()  # one level at a time

    def forward_levels(self, x: Tensor, guide: Tensor | None = None) -> list[Tensor]:
        """Every level's prediction, coarsest first; the last one is the final output."""
        return list(self._level_predictions(x, guide))

    def _level_predictions(self, x: Tensor, guide: Tensor | None) -> Iterator[Tensor]:
        check_inputs(x, guide, self.in_channels, self.guide_channels)
        prediction = None
        sizes = self.level_sizes(*x.shape[-2:])
        for level, size in enumerate(sizes):
            progress.level_started(level, len(sizes))
            prior = None if prediction is None else resize(prediction, size)
            level_guide = None if guide is None else sparse_resize(guide, size)
            prediction = self.run_level(level, resize(x, size), prior, level_guide)
            yield prediction

    def run_level(
        self, level: int, x: Tensor, prior: Tensor | None = None, guide: Tensor | None = None
    ) -> Tensor:
        """Run one level on ``x`` with ``prior`` and ``guide`` (its size; ``None``: neutral
        prior, no hint); levels larger than ``tile`` or ``memory_budget`` allows run in tiles
        (:meth:`tile_plan`), each seeing its part of the prior and of the guide. A level that
        runs ``"full"`` gets its ``dither`` (from ``dither_from`` on) and sees ``margin``
        mirrored pixels around all three."""
        generator, own = self.generator_for(level), self.in_channels
        rule = geometry.level_rule(self.refinement, level, self.decision_levels)
        if rule == "full" and level >= self.dither_from:
            x = add_dither(x, self.dither, own)
        if self.guide_channels:  # the guide (zeros: no hint) is cut into tiles with x
            if guide is None:
                guide = x.new_zeros(x.shape[0], self.guide_channels, *x.shape[-2:])
            x = torch.cat([x, guide.to(x.dtype)], dim=1)

        def run(x_part: Tensor, prior_part: Tensor | None = None) -> Tensor:
            fed = [x_part[:, :own], self.prior_channels(prior_part, x_part), x_part[:, own:]]
            inputs = torch.cat(fed if self.guide_channels else fed[:2], dim=1)
            return refine(prior_part, self._run_padded(generator, inputs), rule)

        margin = self.margin if rule == "full" else 0
        x = pad_margin(x, margin)
        prior = None if prior is None else pad_margin(prior, margin)
        plan = self.tile_plan(level, x)
        if plan.tile is None:
            return crop_margin(run(x, prior), margin)
        parts = (x,) if prior is None else (x, prior)
        output = tiled_apply(run, parts, plan.tile, self.overlap, batch_size=plan.batch_size)
        return crop_margin(output, margin)

    def tile_plan(self, level: int, x: torch.Tensor) -> TilePlan:
        """How ``level`` runs on ``x``: in one pass, or in tiles, how large and how many at once.

        Planned by :func:`~pyramidrefine.tile_planner.plan_level` from ``tile``, ``overlap``,
        ``memory_budget`` and the cost of a pixel (:meth:`activation_bytes_per_pixel`).
        """
        batch, _, height, width = x.shape
        return tile_planner.plan_level(
            height,
            width,
            batch=batch,
            tile=self.tile,
            overlap=self.overlap,
            pad_multiple=self.pad_multiple,
            memory_budget=tile_planner.pyramid_budget(self.memory_budget),
            # Full-size channels besides the activations: input, prior, guide, output, weights.
            buffer_channels=self.generator_in_channels + self.out_channels,
            bytes_per_pixel=lambda: self.activation_bytes_per_pixel(level, x),
        )

    def activation_bytes_per_pixel(self, level: int, like: torch.Tensor) -> float:
        """Peak activation bytes per input pixel of ``level``'s generator, as ``like`` runs.

        Measured by a probe pass on zeros (:func:`~pyramidrefine.generators.peak_bytes_per_pixel`)
        under the current autocast state, cached per generator, device and autocast dtype.
        """
        generator = self.generator_for(level)
        autocast = torch.is_autocast_enabled(like.device.type)
        dtype = torch.get_autocast_dtype(like.device.type) if autocast else like.dtype
        key = (id(generator), like.device, dtype)
        if key not in self._bytes_per_pixel:
            side = 4 * self.pad_multiple
            probe = like.new_zeros(1, self.generator_in_channels, side, side)
            self._bytes_per_pixel[key] = peak_bytes_per_pixel(generator, probe)
        return self._bytes_per_pixel[key]

    def prior_channels(self, prior: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """``prior`` with a flag channel of ones, or zeros and a zero flag when ``None``."""
        batch, _, height, width = like.shape
        if prior is None:
            return like.new_zeros(batch, self.out_channels + 1, height, width)
        return torch.cat([prior.to(like.dtype), like.new_ones(batch, 1, height, width)], dim=1)

    def _run_padded(self, generator: nn.Module, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        # Twice the multiple at least, so no feature map collapses to 1×1 (BatchNorm needs >1).
        padded = pad_to_multiple(x, self.pad_multiple, min_size=2 * self.pad_multiple)
        output = generator(padded)
        check_output(output, x.shape[0], self.out_channels)
        return output[..., :height, :width]

    def with_settings(self, **settings: Any) -> CoarseToFine:
        """A view with other ``levels``/``base_size``/``max_levels``/``decision_levels``/
        ``margin``/``dither``/``dither_from``/``tile``/``overlap``/``memory_budget``.

        Same weights. E.g. ``model.with_settings(levels=1)`` is the full-resolution baseline,
        ``model.with_settings(levels=1, tile=256)`` the patchwise method of a pyramid model
        and ``model.with_settings(memory_budget=2**30)`` the pyramid within 1 GiB (bytes;
        ``None``: unbounded; for inference, see :meth:`tile_plan`). The memory budget
        belongs to a machine, not to a model: ``save_pretrained`` does not record it.
        """
        if unknown := set(settings) - set(VIEW_SETTINGS):
            raise ConfigurationError(
                f"with_settings takes {', '.join(sorted(VIEW_SETTINGS))}; got {sorted(unknown)}"
            )
        tile_planner.check_budget(settings.get("memory_budget"))
        check_settings(**settings)
        for name, replaced in (("levels", ["base_size"]), ("base_size", ["levels", "max_levels"])):
            if name in settings:  # levels unsets base_size; base_size, the other two
                settings = dict.fromkeys(replaced) | settings
        view = copy.copy(self)
        view._modules = dict(self._modules)  # same generator modules, own attributes
        view.__dict__.update(settings)
        saved = {name: value for name, value in settings.items() if name != "memory_budget"}
        view._hub_mixin_config = {**self._hub_mixin_config, **saved}
        if view.levels is None and view.base_size is None:
            raise ConfigurationError("give levels or base_size")
        if not view.shared and view.refiner is None and view.levels != len(view.generators):
            raise ConfigurationError(
                f"this model has one generator per level ({len(view.generators)}); it cannot "
                f"run with levels={view.levels}"
            )
        tile_planner.check_overlap(view.tile, view.overlap)
        return view

    def save_pretrained(self, save_directory: Any, **kwargs: Any) -> Any:
        """Write ``config.json`` + ``model.safetensors`` atomically; needs a named generator.

        ``CoarseToFine.from_pretrained(folder_or_hub_id)`` rebuilds the model from the
        config alone and fills it strictly from the safetensors file.
        """
        if not self._generator_is_named:
            raise ConfigurationError(
                "save_pretrained needs a generator given by its registered name, so that the "
                "config alone can rebuild it; register your generator with @register_generator"
            )
        return super().save_pretrained(save_directory, **kwargs)

    def extra_repr(self) -> str:
        pyramid = f"levels={self.levels}" if self.levels else f"base_size={self.base_size}"
        tiling = f", tile={self.tile}, overlap={self.overlap}" if self.tile else ""
        channels = f"in_channels={self.in_channels}, out_channels={self.out_channels}"
        return f"{channels}, {pyramid}{tiling}"
