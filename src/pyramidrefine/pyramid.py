"""CoarseToFine: run one image-to-image generator over a pyramid of scales, coarse to fine.

For ``n`` levels, level ``k`` (0 = coarsest) works at ``1 / 2**(n-1-k)`` of the input size::

    prior = neutral
    for k in levels:
        x_k   = resize(x, size_k)
        pred  = G_k(concat(x_k, upsample(prior, size_k)))
        prior = pred
    return pred

The same object runs the methods we compare against: ``levels=1`` is the full-resolution
baseline and ``levels=1, tile=...`` the patchwise (tile, predict, reassemble) method.

With a ``memory_budget`` (``with_settings(memory_budget=bytes)``), levels whose pass would
not fit run tile by tile, in the tiles that fit with the least work, and the tiles of a
level run in batches that fit: bounded memory at any input size.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import geometry, profiling, progress
from .bands import REFINEMENTS, refine
from .checkpoints import SafeHubMixin
from .choices import DEFAULT_BASE_SIZE
from .errors import ConfigurationError, InvalidInputError
from .generators import first_conv_in_channels, required_multiple
from .model_config import check_settings
from .registry import create_generator
from .tiling import Size, pad_to_multiple, resize, tile_starts, tiled_apply

GeneratorSpec = str | Callable[..., nn.Module] | nn.Module | Sequence[nn.Module]

# Peak RSS of a generator pass was measured at up to 1.23× the tensor bytes counted by
# profiling.peak_tensor_bytes (allocator slack, oneDNN scratch space).
ALLOCATOR_MARGIN = 1.25
# Full-size float32 channels a level holds besides its generator's activations: the input,
# the prior, the blended output and the blending weights (in_channels + 2 * out + 1).
_LEVEL_BUFFER_BYTES_PER_CHANNEL = 4


@dataclass(frozen=True)
class TilePlan:
    """How one level runs: tile (height, width) (``None``: in one pass) and tiles per batch."""

    tile: Size | None
    batch_size: int = 1


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
            ``in_channels = in_channels + out_channels + 1`` (input, prior, prior flag).
        in_channels: channels of the task's input (1 for colorization: L).
        out_channels: channels of the task's output (2 for colorization: ab).
        levels: fixed number of pyramid levels.
        base_size: long side of the coarsest level; the number of levels then follows the
            input (coarsest long side in ``(base_size/2, base_size]``). Default when
            ``levels`` is not given: 256.
        max_levels: with ``base_size``, run at most this many levels: larger inputs get a
            larger coarsest level (a model trained on few levels over-colours when its
            refinement repeats too often). ``None``: no limit.
        shared: one generator for every level (default) or one per level (needs ``levels``).
        refiner: generator keyword arguments that differ for every level but the coarsest
            (e.g. ``{"decoder_channels": [64, 32, 24, 16, 8]}``): a coarse generator plus one
            refiner shared by the finer levels (pix2pixHD's global + local pattern). Needs
            a generator given by name or factory; ``None``: one generator for all levels.
        refinement: how a finer level uses its prior: ``"full"`` (its generator's output
            replaces the prior) or ``"detail"`` (the prior plus the detail band of the
            generator's output, see :mod:`~pyramidrefine.bands`: the coarse levels alone
            decide the colour of regions).
        tile: run levels whose height or width exceeds ``tile`` tile by tile.
        overlap: minimum overlap of neighbouring tiles, blended with a raised-cosine window.
        pad_multiple: side multiple the generator needs; read from the generator if omitted.
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
        tile: int | None = None,
        overlap: int = 32,
        pad_multiple: int | None = None,
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
            pad_multiple=pad_multiple,
        )
        if tile is not None and not 0 <= overlap < tile:
            raise ConfigurationError(
                f"need 0 <= overlap < tile, got tile={tile}, overlap={overlap}"
            )
        check_settings(overlap=overlap)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.levels = levels
        self.base_size = None if levels is not None else (base_size or DEFAULT_BASE_SIZE)
        self.max_levels = max_levels
        self.tile = tile
        self.overlap = overlap
        self.memory_budget: int | None = None
        self._bytes_per_pixel: dict[tuple, float] = {}
        self.refiner = refiner
        if refinement not in REFINEMENTS:
            raise ConfigurationError(
                f"refinement must be one of {', '.join(REFINEMENTS)}, got {refinement!r}"
            )
        self.refinement = refinement
        self.generators = self._build_generators(generator, shared, generator_kwargs)
        self._generator_is_named = isinstance(generator, str)
        self.shared = len(self.generators) == 1 and shared
        self.pad_multiple = pad_multiple or required_multiple(self.generators[0])
        if getattr(self, "_hub_mixin_config", {}).get("encoder_weights"):
            # Pretrained weights only initialise; saved weights replace them, so a saved
            # config never asks for them (loading needs no download and no extra).
            self._hub_mixin_config["encoder_weights"] = None

    @property
    def generator_in_channels(self) -> int:
        """Channels each generator receives: input, prior and the prior flag."""
        return self.in_channels + self.out_channels + 1

    def _build_generators(
        self, spec: GeneratorSpec, shared: bool, kwargs: dict[str, Any]
    ) -> nn.ModuleList:
        if self.refiner is not None:
            if not shared or (isinstance(spec, nn.Module | Sequence) and not isinstance(spec, str)):
                raise ConfigurationError(
                    "refiner needs one generator given by name or factory (and shared=True): "
                    "it builds the coarse generator and the refiner from it"
                )
            generators = [
                self._build_generator(spec, kwargs),
                self._build_generator(spec, kwargs | self.refiner),
            ]
        elif isinstance(spec, Sequence) and not isinstance(spec, str):
            generators = list(spec)
            if self.levels is None or len(generators) != self.levels:
                raise ConfigurationError(
                    f"got {len(generators)} generators; per-level generators need "
                    f"levels={len(generators)}"
                )
        else:
            if not shared and self.levels is None:
                raise ConfigurationError(
                    "shared=False builds one generator per level and needs a fixed levels=n"
                )
            count = 1 if shared else self.levels
            generators = [self._build_generator(spec, kwargs) for _ in range(count)]
        for generator in generators:
            self._check_generator(generator)
        return nn.ModuleList(generators)

    def _build_generator(self, spec: GeneratorSpec, kwargs: dict[str, Any]) -> nn.Module:
        if isinstance(spec, nn.Module):
            if kwargs:
                raise ConfigurationError(
                    f"generator keyword arguments {sorted(kwargs)} only apply to a generator "
                    "given by name or factory, not to a ready nn.Module"
                )
            return spec
        channels = {"in_channels": self.generator_in_channels, "out_channels": self.out_channels}
        if isinstance(spec, str):
            return create_generator(spec, **channels, **kwargs)
        if callable(spec):
            return spec(**channels, **kwargs)
        raise ConfigurationError(
            f"generator must be a name, a factory or an nn.Module, got {type(spec).__name__}"
        )

    def _check_generator(self, generator: nn.Module) -> None:
        if not isinstance(generator, nn.Module):
            raise ConfigurationError(f"generator must be an nn.Module, got {type(generator)}")
        found = first_conv_in_channels(generator)
        if found is not None and found != self.generator_in_channels:
            raise ConfigurationError(
                f"the generator's first convolution takes {found} channels, but CoarseToFine "
                f"feeds it {self.generator_in_channels} (in_channels={self.in_channels} + "
                f"prior {self.out_channels} + 1 prior flag); build it with "
                f"in_channels={self.generator_in_channels}"
            )

    def generator_for(self, level: int) -> nn.Module:
        """The generator that runs ``level``."""
        index = geometry.generator_index(
            level, len(self.generators), refiner=self.refiner is not None
        )
        return self.generators[index]

    def num_levels(self, height: int, width: int) -> int:
        """Number of levels used for an input of this size."""
        return geometry.num_levels(height, width, self.levels, self.base_size, self.max_levels)

    def level_sizes(self, height: int, width: int) -> list[Size]:
        """(height, width) of every level, coarsest first; the last is the input's size."""
        return geometry.level_sizes(height, width, self.levels, self.base_size, self.max_levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict ``B×out_channels×H×W`` for an input ``B×in_channels×H×W`` of any size."""
        return deque(self._level_predictions(x), maxlen=1).pop()  # holds one level at a time

    def forward_levels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every level's prediction, coarsest first; the last one is the final output."""
        return list(self._level_predictions(x))

    def _level_predictions(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        self._check_input(x)
        prediction = None
        sizes = self.level_sizes(*x.shape[-2:])
        for level, size in enumerate(sizes):
            progress.level_started(level, len(sizes))
            prior = None if prediction is None else resize(prediction, size)
            prediction = self.run_level(level, resize(x, size), prior)
            yield prediction

    def run_level(
        self, level: int, x: torch.Tensor, prior: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Run one level on ``x`` with ``prior`` (same size; ``None`` = the neutral prior).

        Levels larger than ``tile``, or too large for ``memory_budget``, run tile by tile
        (see :meth:`tile_plan`), each tile seeing its part of the prior.
        """
        generator = self.generator_for(level)

        def run(x_part: torch.Tensor, prior_part: torch.Tensor | None = None) -> torch.Tensor:
            inputs = torch.cat([x_part, self.prior_channels(prior_part, x_part)], dim=1)
            return refine(prior_part, self._run_padded(generator, inputs), self.refinement)

        plan = self.tile_plan(level, x)
        if plan.tile is None:
            return run(x, prior)
        parts = (x,) if prior is None else (x, prior)
        return tiled_apply(run, parts, plan.tile, self.overlap, batch_size=plan.batch_size)

    def tile_plan(self, level: int, x: torch.Tensor) -> TilePlan:
        """How ``level`` runs on ``x``: in one pass, or in tiles, how large and how many at once.

        An explicit ``tile`` tiles levels larger than it; otherwise, with a
        ``memory_budget``, a level tiles when its pass would not fit, into the tiles that
        fit with the least work (padded pixels, overlaps included). With a budget, tiles
        run in batches as large as fit; without, one by one. The cost of a pixel is
        measured once per generator, device and precision by a small probe pass
        (:func:`~pyramidrefine.profiling.peak_tensor_bytes`).
        """
        height, width = x.shape[-2:]
        explicit = None if self.tile is None else (self.tile, self.tile)
        if explicit is not None and max(height, width) <= self.tile:
            return TilePlan(None)
        if self.memory_budget is None:
            return TilePlan(explicit)
        pixels = self._pixels_within_budget(level, x)
        if explicit is None and self._padded_pixels(height, width) <= pixels:
            return TilePlan(None)
        tile = explicit or self._least_work_tile(height, width, pixels)
        tile_pixels = self._padded_pixels(min(tile[0], height), min(tile[1], width))
        return TilePlan(tile, max(1, pixels // tile_pixels))

    def _pixels_within_budget(self, level: int, x: torch.Tensor) -> int:
        """Generator input pixels (per image of the batch) whose pass fits the budget."""
        batch, _, height, width = x.shape
        channels = self.in_channels + 2 * self.out_channels + 1
        buffers = batch * height * width * channels * _LEVEL_BUFFER_BYTES_PER_CHANNEL
        per_pixel = ALLOCATOR_MARGIN * self.activation_bytes_per_pixel(level, x)
        return max(0, int((self.memory_budget - buffers) / per_pixel) // batch)

    def _least_work_tile(self, height: int, width: int, pixels: int) -> Size:
        """Tile (height, width) whose padded area fits ``pixels`` with the least total work.

        Work: padded pixels summed over the tiles. Sides are multiples of the pad multiple
        (or the whole side), never below twice it nor four times the overlap.
        """
        smallest = max(2 * self.pad_multiple, 4 * self.overlap)
        best: tuple[tuple[int, int], Size] | None = None
        for rows in range(1, max(1, height // smallest) + 1):
            tile_h = self._tile_length(height, rows)
            for cols in range(1, max(1, width // smallest) + 1):
                tile_w = self._tile_length(width, cols)
                area = self._padded_pixels(tile_h, tile_w)
                if area <= pixels:  # the fewest columns that fit: the least overlap
                    count = len(tile_starts(height, tile_h, self.overlap)) * len(
                        tile_starts(width, tile_w, self.overlap)
                    )
                    if best is None or (count * area, count) < best[0]:
                        best = (count * area, count), (tile_h, tile_w)
                    break
        return best[1] if best is not None else (smallest, smallest)

    def _tile_length(self, length: int, count: int) -> int:
        """Shortest side, rounded up to the pad multiple, that ``count`` tiles cover ``length``
        with (overlapping by at least ``overlap``)."""
        side = -(-(length + (count - 1) * self.overlap) // count)
        return min(length, -(-side // self.pad_multiple) * self.pad_multiple)

    def _padded_pixels(self, height: int, width: int) -> int:
        pad_h, pad_w, _ = geometry.padding(height, width, self.pad_multiple, 2 * self.pad_multiple)
        return (height + pad_h) * (width + pad_w)

    def activation_bytes_per_pixel(self, level: int, like: torch.Tensor) -> float:
        """Peak activation bytes per input pixel of ``level``'s generator, as ``like`` runs.

        Measured by a probe pass on zeros under the current autocast state and cached per
        generator, device and autocast dtype. A generator that runs outside torch (e.g.
        :class:`~pyramidrefine.backends.OnnxGenerator`) reports it with a method
        ``peak_tensor_bytes(probe) -> int``.
        """
        generator = self.generator_for(level)
        autocast = torch.is_autocast_enabled(like.device.type)
        dtype = torch.get_autocast_dtype(like.device.type) if autocast else like.dtype
        key = (id(generator), like.device, dtype)
        if key not in self._bytes_per_pixel:
            side = 4 * self.pad_multiple
            probe = like.new_zeros(1, self.generator_in_channels, side, side)
            training = generator.training
            try:  # eval: a probe must not move BatchNorm statistics
                with torch.inference_mode():
                    measure = getattr(generator.eval(), "peak_tensor_bytes", None)
                    if callable(measure):
                        peak = measure(probe)
                    else:
                        peak, _ = profiling.peak_tensor_bytes(generator, probe)
            finally:
                generator.train(training)
            self._bytes_per_pixel[key] = peak / side**2
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
        expected = (x.shape[0], self.out_channels)
        if output.ndim != 4 or tuple(output.shape[:2]) != expected:
            raise ConfigurationError(
                f"the generator returned shape {tuple(output.shape)}; expected "
                f"{expected[0]}×{expected[1]}×H×W (out_channels={self.out_channels})"
            )
        return output[..., :height, :width]

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise InvalidInputError(f"expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise InvalidInputError(
                f"expected a B×{self.in_channels}×H×W tensor, got shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise InvalidInputError(f"expected a floating-point tensor, got {x.dtype}")
        if min(x.shape[-2:]) < 1 or x.shape[0] < 1:
            raise InvalidInputError(f"empty input of shape {tuple(x.shape)}")

    def with_settings(self, **settings: Any) -> CoarseToFine:
        """A view with other ``levels``/``base_size``/``max_levels``/``tile``/``overlap``/
        ``memory_budget``.

        Same weights. E.g. ``model.with_settings(levels=1)`` is the full-resolution baseline,
        ``model.with_settings(levels=1, tile=256)`` the patchwise method of a pyramid model
        and ``model.with_settings(memory_budget=2**30)`` the pyramid within 1 GiB (bytes;
        ``None``: unbounded; for inference, see :meth:`tile_plan`). The memory budget
        belongs to a machine, not to a model: ``save_pretrained`` does not record it.
        """
        known = {"levels", "base_size", "max_levels", "tile", "overlap", "memory_budget"}
        unknown = set(settings) - known
        if unknown:
            raise ConfigurationError(
                f"with_settings takes {', '.join(sorted(known))}; got {sorted(unknown)}"
            )
        budget = settings.get("memory_budget")
        if budget is not None and (not isinstance(budget, int) or budget < 1):
            raise ConfigurationError(
                f"memory_budget must be a positive number of bytes or None, got {budget!r}"
            )
        check_settings(**settings)
        if "levels" in settings and "base_size" not in settings:
            settings["base_size"] = None
        if "base_size" in settings and "levels" not in settings:
            settings["levels"] = None
        if "base_size" in settings and "max_levels" not in settings:
            settings["max_levels"] = None  # an explicit coarsest size is exactly that
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
        if view.tile is not None and not 0 <= view.overlap < view.tile:
            raise ConfigurationError(f"need 0 <= overlap < tile, got {view.tile}, {view.overlap}")
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
        return (
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, {pyramid}{tiling}"
        )
