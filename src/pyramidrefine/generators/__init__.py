"""Registered generators and the facts ``CoarseToFine`` needs to know about any generator."""

from __future__ import annotations

from torch import nn

from . import smp_adapter, unet
from .unet import UNet

__all__ = ["UNet", "first_conv_in_channels", "required_multiple", "smp_adapter", "unet"]


def required_multiple(generator: nn.Module) -> int:
    """Side length that inputs of ``generator`` must be a multiple of (1 if it has none).

    Read from a ``required_multiple`` attribute, else from an smp encoder's output stride.
    """
    multiple = getattr(generator, "required_multiple", None)
    if multiple is None:
        multiple = getattr(getattr(generator, "encoder", None), "output_stride", None)
    return int(multiple or 1)


def first_conv_in_channels(generator: nn.Module) -> int | None:
    """Input channels of the first 2-D convolution in ``generator``, if it has one."""
    conv = next((m for m in generator.modules() if isinstance(m, nn.Conv2d)), None)
    return None if conv is None else conv.in_channels
