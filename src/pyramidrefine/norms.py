"""Normalisation layers by name, shared by the U-Net generator and the PatchGAN."""

from __future__ import annotations

from typing import Literal

from torch import nn

Norm = Literal["batch", "group", "instance", "none"]


def norm_layer(norm: Norm, channels: int, *, instance_affine: bool = True) -> nn.Module:
    """BatchNorm, GroupNorm (at most 8 groups), InstanceNorm (learnt scale and shift unless
    ``instance_affine=False``, as pix2pix's discriminator) or nothing, over ``channels``."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=instance_affine)
    return nn.Identity()
