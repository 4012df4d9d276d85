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
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from . import geometry
from .checkpoints import SafeHubMixin
from .errors import ConfigurationError, InvalidInputError
from .generators import first_conv_in_channels, required_multiple
from .registry import create_generator
from .tiling import Size, pad_to_multiple, resize, tiled_apply

GeneratorSpec = str | Callable[..., nn.Module] | nn.Module | Sequence[nn.Module]


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
        shared: one generator for every level (default) or one per level (needs ``levels``).
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
        shared: bool = True,
        tile: int | None = None,
        overlap: int = 32,
        pad_multiple: int | None = None,
        **generator_kwargs: Any,
    ) -> None:
        super().__init__()
        if levels is not None and base_size is not None:
            raise ConfigurationError("give either levels or base_size, not both")
        if levels is not None and levels < 1:
            raise ConfigurationError(f"levels must be at least 1, got {levels}")
        if base_size is not None and base_size < 1:
            raise ConfigurationError(f"base_size must be at least 1, got {base_size}")
        if tile is not None and not 0 <= overlap < tile:
            raise ConfigurationError(
                f"need 0 <= overlap < tile, got tile={tile}, overlap={overlap}"
            )
        if in_channels < 1 or out_channels < 1:
            raise ConfigurationError("in_channels and out_channels must be positive")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.levels = levels
        self.base_size = None if levels is not None else (base_size or 256)
        self.tile = tile
        self.overlap = overlap
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
        if isinstance(spec, Sequence) and not isinstance(spec, str):
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
        return self.generators[0 if self.shared else level]

    def num_levels(self, height: int, width: int) -> int:
        """Number of levels used for an input of this size."""
        return geometry.num_levels(height, width, self.levels, self.base_size)

    def level_sizes(self, height: int, width: int) -> list[Size]:
        """(height, width) of every level, coarsest first; the last is the input's size."""
        return geometry.level_sizes(height, width, self.levels, self.base_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict ``B×out_channels×H×W`` for an input ``B×in_channels×H×W`` of any size."""
        return self.forward_levels(x)[-1]

    def forward_levels(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every level's prediction, coarsest first; the last one is the final output."""
        self._check_input(x)
        predictions: list[torch.Tensor] = []
        for level, size in enumerate(self.level_sizes(*x.shape[-2:])):
            prior = resize(predictions[-1], size) if predictions else None
            predictions.append(self.run_level(level, resize(x, size), prior))
        return predictions

    def run_level(
        self, level: int, x: torch.Tensor, prior: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Run one level on ``x`` with ``prior`` (same size; ``None`` = the neutral prior).

        Levels larger than ``tile`` run tile by tile, each tile seeing its part of the prior.
        """
        inputs = torch.cat([x, self.prior_channels(prior, x)], dim=1)
        generator = self.generator_for(level)

        def run(tile: torch.Tensor) -> torch.Tensor:
            return self._run_padded(generator, tile)

        if self.tile is not None and max(x.shape[-2:]) > self.tile:
            return tiled_apply(run, inputs, self.tile, self.overlap)
        return run(inputs)

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
        """A view with other ``levels``/``base_size``/``tile``/``overlap``, same weights.

        E.g. ``model.with_settings(levels=1)`` is the full-resolution baseline and
        ``model.with_settings(levels=1, tile=256)`` the patchwise method of a pyramid model.
        """
        unknown = set(settings) - {"levels", "base_size", "tile", "overlap"}
        if unknown:
            raise ConfigurationError(
                f"with_settings takes levels, base_size, tile, overlap; got {sorted(unknown)}"
            )
        if "levels" in settings and "base_size" not in settings:
            settings["base_size"] = None
        if "base_size" in settings and "levels" not in settings:
            settings["levels"] = None
        view = copy.copy(self)
        view._modules = dict(self._modules)  # same generator modules, own attributes
        view.__dict__.update(settings)
        view._hub_mixin_config = {**self._hub_mixin_config, **settings}
        if view.levels is None and view.base_size is None:
            raise ConfigurationError("give levels or base_size")
        if not view.shared and view.levels != len(view.generators):
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
