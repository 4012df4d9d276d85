"""Registered generators and the facts ``CoarseToFine`` needs to know about any generator."""

from __future__ import annotations

import torch
from torch import nn

from .. import profiling
from . import smp_adapter, unet
from .unet import UNet

__all__ = [
    "UNet",
    "first_conv_in_channels",
    "peak_bytes_per_pixel",
    "required_multiple",
    "smp_adapter",
    "unet",
]


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


def peak_bytes_per_pixel(generator: nn.Module, probe: torch.Tensor) -> float:
    """Peak activation bytes per input pixel of ``generator`` on ``probe`` (``1×C×h×w``).

    Counted by :func:`~pyramidrefine.profiling.peak_tensor_bytes` in eval mode (a probe
    must not move BatchNorm statistics; the mode is restored), under the caller's autocast
    state. A generator that runs outside torch (e.g.
    :class:`~pyramidrefine.backends.OnnxGenerator`) reports it with a method
    ``peak_tensor_bytes(probe) -> int``.
    """
    training = generator.training
    try:
        with torch.inference_mode():
            measure = getattr(generator.eval(), "peak_tensor_bytes", None)
            if callable(measure):
                peak = measure(probe)
            else:
                peak, _ = profiling.peak_tensor_bytes(generator, probe)
    finally:
        generator.train(training)
    return peak / (probe.shape[-2] * probe.shape[-1])
