"""Building the generators of a :class:`~pyramidrefine.CoarseToFine` and checking they fit it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import ConfigurationError
from ..registry import create_generator
from . import first_conv_in_channels
from .colour_head import DEFAULT_TEMPERATURE, with_colour_head

GeneratorSpec = str | Callable[..., nn.Module] | nn.Module | Sequence[nn.Module]
# Keyword arguments that put a colour-class head on any generator (see colour_head).
HEAD_KEYS = ("colour_bins", "colour_temperature")


def input_channels(in_channels: int, out_channels: int, guide_channels: int = 0) -> int:
    """Channels a generator receives for a task of these channels: input, prior, prior flag
    and guide."""
    return in_channels + out_channels + 1 + guide_channels


def build_generators(
    spec: GeneratorSpec,
    in_channels: int,
    out_channels: int,
    *,
    levels: int | None,
    shared: bool,
    refiner: dict[str, Any] | None,
    kwargs: dict[str, Any],
    guide_channels: int = 0,
) -> nn.ModuleList:
    """The generators ``spec`` describes: one shared, one per level (``shared=False`` or a
    sequence of modules), or a coarse one and a ``refiner`` built from the same name or
    factory with these keyword arguments on top.

    ``in_channels`` and ``out_channels`` are the task's; each generator receives
    :func:`input_channels` (input, prior, the prior flag and ``guide_channels``) and
    returns ``out_channels``.
    """
    fed = input_channels(in_channels, out_channels, guide_channels)
    if refiner is not None:
        if not shared or (isinstance(spec, nn.Module | Sequence) and not isinstance(spec, str)):
            raise ConfigurationError(
                "refiner needs one generator given by name or factory (and shared=True): "
                "it builds the coarse generator and the refiner from it"
            )
        generators = [
            build_generator(spec, fed, out_channels, kwargs),
            build_generator(spec, fed, out_channels, kwargs | refiner),
        ]
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        generators = list(spec)
        if levels is None or len(generators) != levels:
            raise ConfigurationError(
                f"got {len(generators)} generators; per-level generators need "
                f"levels={len(generators)}"
            )
    else:
        if not shared and levels is None:
            raise ConfigurationError(
                "shared=False builds one generator per level and needs a fixed levels=n"
            )
        count = 1 if shared else levels
        generators = [build_generator(spec, fed, out_channels, kwargs) for _ in range(count)]
    for generator in generators:
        check_generator(generator, in_channels, out_channels, guide_channels)
    return nn.ModuleList(generators)


def build_generator(
    spec: GeneratorSpec, in_channels: int, out_channels: int, kwargs: dict[str, Any]
) -> nn.Module:
    """A ready module as is, or a registered name or factory called with the channels the
    generator takes (``in_channels``) and returns (``out_channels``)."""
    if isinstance(spec, nn.Module):
        if kwargs:
            raise ConfigurationError(
                f"generator keyword arguments {sorted(kwargs)} only apply to a generator "
                "given by name or factory, not to a ready nn.Module"
            )
        return spec
    if kwargs.get("colour_bins") is not None:
        head = {key: kwargs[key] for key in HEAD_KEYS if key in kwargs}
        inner = {key: value for key, value in kwargs.items() if key not in HEAD_KEYS}
        bins = int(head["colour_bins"])
        return with_colour_head(
            build_generator(spec, in_channels, bins * bins, inner),
            out_channels,
            bins,
            head.get("colour_temperature", DEFAULT_TEMPERATURE),
        )
    kwargs = {key: value for key, value in kwargs.items() if key not in HEAD_KEYS}
    channels = {"in_channels": in_channels, "out_channels": out_channels}
    if isinstance(spec, str):
        return create_generator(spec, **channels, **kwargs)
    if callable(spec):
        return spec(**channels, **kwargs)
    raise ConfigurationError(
        f"generator must be a name, a factory or an nn.Module, got {type(spec).__name__}"
    )


def check_generator(
    generator: nn.Module, in_channels: int, out_channels: int, guide_channels: int = 0
) -> None:
    """Refuse a non-module, or one whose first convolution does not take what a task of
    ``in_channels`` and ``out_channels`` (and a guide of ``guide_channels``) feeds it."""
    if not isinstance(generator, nn.Module):
        raise ConfigurationError(f"generator must be an nn.Module, got {type(generator)}")
    found = first_conv_in_channels(generator)
    fed = input_channels(in_channels, out_channels, guide_channels)
    if found is not None and found != fed:
        guide = f" + guide {guide_channels}" if guide_channels else ""
        raise ConfigurationError(
            f"the generator's first convolution takes {found} channels, but CoarseToFine "
            f"feeds it {fed} (in_channels={in_channels} + prior {out_channels} + 1 prior "
            f"flag{guide}); build it with in_channels={fed}"
        )


def check_output(output: torch.Tensor, batch: int, out_channels: int) -> None:
    """Refuse a generator output that is not ``batch × out_channels × H × W``."""
    if output.ndim != 4 or tuple(output.shape[:2]) != (batch, out_channels):
        raise ConfigurationError(
            f"the generator returned shape {tuple(output.shape)}; expected "
            f"{batch}×{out_channels}×H×W (out_channels={out_channels})"
        )
