"""Pixel-wise reconstruction losses."""

from __future__ import annotations

from torch import nn

from ..registry import register_loss


@register_loss("l1")
def l1() -> nn.L1Loss:
    """Mean absolute error between prediction and target."""
    return nn.L1Loss()
