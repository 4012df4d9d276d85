"""Guides: extra per-pixel channels a caller gives a pyramid beside its input (e.g. hints).

A guide is ``B×C×H×W`` at the input's size whose last channel is a mask (1 where the
guide says something, 0 elsewhere) and whose other channels hold values where the mask
is set. Colour hints are a guide of three channels: the hint's ab (normalised as the
colorization task's target) and the mask (:mod:`~pyramidrefine.hints` renders them).
Each level sees the guide at its own size through :func:`sparse_resize`, which keeps a
single hinted pixel alive when a 4K image shrinks to 128 px; :func:`check_inputs` checks
what a pyramid is given. :func:`add_guide_channels` gives a trained model guide channels
that change nothing without a guide (a guide of zeros meets whatever weights they get).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Literal, get_args

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize

from .errors import ConfigurationError, InvalidInputError
from .model_config import check_settings
from .tiling import Size

if TYPE_CHECKING:
    from .pyramid import CoarseToFine


def sparse_resize(guide: torch.Tensor, size: Size) -> torch.Tensor:
    """``guide`` at ``size``: a cell's mask is 1 where any masked pixel fell in it, its
    values the mask-weighted mean of the masked pixels' (0 where none); ``guide`` itself
    if the size is unchanged.

    Area pooling of the mask and of values × mask (an enlarging size repeats cells), in
    float32; the result has ``guide``'s dtype.
    """
    if tuple(guide.shape[-2:]) == tuple(size):
        return guide
    mask = guide[:, -1:].float()
    weighted = F.interpolate(guide[:, :-1].float() * mask, size=size, mode="area")
    coverage = F.interpolate(mask, size=size, mode="area")
    hinted = coverage > 0
    values = torch.where(hinted, weighted / coverage.clamp(min=torch.finfo(torch.float32).tiny), 0)
    return torch.cat([values, hinted.float()], dim=1).to(guide.dtype)


def check_inputs(
    x: torch.Tensor, guide: torch.Tensor | None, in_channels: int, guide_channels: int
) -> None:
    """Refuse an input that is not a non-empty float ``B×in_channels×H×W`` tensor, a guide
    that is not a float ``B×guide_channels×H×W`` of its batch and size, or any guide for a
    model that takes none (``guide_channels == 0``); one :class:`InvalidInputError` line."""
    if not isinstance(x, torch.Tensor):
        raise InvalidInputError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise InvalidInputError(
            f"expected a B×{in_channels}×H×W tensor, got shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise InvalidInputError(f"expected a floating-point tensor, got {x.dtype}")
    if min(x.shape[-2:]) < 1 or x.shape[0] < 1:
        raise InvalidInputError(f"empty input of shape {tuple(x.shape)}")
    if guide is None:
        return
    if guide_channels == 0:
        raise InvalidInputError(
            "this model takes no guide (it has no guide channels); call it without guide=, or "
            "add guide channels with pyramidrefine.add_guide_channels and fine-tune"
        )
    if not isinstance(guide, torch.Tensor) or not guide.is_floating_point():
        raise InvalidInputError(f"guide must be a floating-point tensor, got {type(guide)}")
    expected = (x.shape[0], guide_channels, *x.shape[-2:])
    if tuple(guide.shape) != expected:
        raise InvalidInputError(
            f"expected a guide of shape {expected} (the input's batch and size, "
            f"{guide_channels} channels), got {tuple(guide.shape)}"
        )


GuideInit = Literal["zeros", "prior"]
GUIDE_INITS: tuple[str, ...] = get_args(GuideInit)


def add_guide_channels(
    model: CoarseToFine, channels: int, *, init: GuideInit = "zeros"
) -> CoarseToFine:
    """A copy of ``model`` taking ``channels`` more guide channels.

    Each generator's first convolution (the first ``nn.Conv2d`` in it, which takes
    ``model.generator_in_channels``: the U-Net's first layer, an smp/timm encoder's stem)
    is widened for the new channels, so that without hints (a guide of zeros) the copy
    computes what ``model`` does; fine-tuning then teaches it the guide. ``init``: the new
    weights are ``"zeros"``, or ``"prior"``: copies of those of the prior's channels (its
    ``out_channels`` values and its flag; needs ``channels == out_channels + 1`` and a
    guide-free ``model``), so that a hint starts out read as a local prior where it is,
    the input the finer levels were trained to follow. ``model`` is left as it was; the
    copy saves ``guide_channels`` in its ``config.json``.
    """
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ConfigurationError(f"add_guide_channels adds 1 or more channels, got {channels!r}")
    total = model.guide_channels + channels
    check_settings(guide_channels=total)
    copied = None
    if init == "prior":
        if channels != model.out_channels + 1 or model.guide_channels:
            raise ConfigurationError(
                f"init='prior' copies the prior's {model.out_channels + 1} channels (values and "
                f"flag) into as many new guide channels of a guide-free model; got {channels} "
                f"channels for a model with {model.guide_channels}: use init='zeros'"
            )
        copied = slice(model.in_channels, model.in_channels + channels)
    elif init != "zeros":
        raise ConfigurationError(f"init must be one of {', '.join(GUIDE_INITS)}, got {init!r}")
    widened = copy.deepcopy(model)
    in_channels = model.generator_in_channels
    for index, generator in enumerate(widened.generators):
        widen_first_conv(generator, in_channels, channels, f"generator {index}", copied)
    widened.guide_channels = total
    config = getattr(model, "_hub_mixin_config", None)  # what save_pretrained writes
    if config is not None:
        widened._hub_mixin_config = {**config, "guide_channels": total}
    return widened


def widen_first_conv(
    generator: nn.Module,
    in_channels: int,
    channels: int,
    name: str,
    copied: slice | None = None,
) -> None:
    """Give ``generator``'s first ``nn.Conv2d`` (which must take ``in_channels``)
    ``channels`` more input channels, in place: zero weights, or copies of the weights of
    the ``copied`` input channels; ``name`` words errors."""
    conv = next((m for m in generator.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None or conv.in_channels != in_channels:
        found = "none" if conv is None else f"one taking {conv.in_channels} channels"
        raise ConfigurationError(
            f"{name}: its first convolution should take the {in_channels} channels the pyramid "
            f"feeds it, found {found}; guide channels need a generator whose first layer is an "
            "nn.Conv2d (the unet and smp generators)"
        )
    if conv.groups != 1 or parametrize.is_parametrized(conv):
        raise ConfigurationError(
            f"{name}: its first convolution is grouped or parametrized (e.g. weight norm), "
            "which add_guide_channels cannot widen; use a plain first nn.Conv2d"
        )
    weight = conv.weight.detach()
    if copied is None:
        added = weight.new_zeros(weight.shape[0], channels, *weight.shape[2:])
    else:
        added = weight[:, copied].clone()
    conv.weight = nn.Parameter(
        torch.cat([weight, added], dim=1), requires_grad=conv.weight.requires_grad
    )
    conv.in_channels += channels
