"""Registered losses: pixel (L1, class-rebalanced L1), adversarial (vanilla, lsgan, hinge)
and pix2pix's composite."""

from . import gan, pix2pix, pixel, rebalanced
from .gan import GANLoss
from .pix2pix import Pix2PixObjective
from .rebalanced import RebalancedL1

__all__ = ["GANLoss", "Pix2PixObjective", "RebalancedL1", "gan", "pix2pix", "pixel", "rebalanced"]
