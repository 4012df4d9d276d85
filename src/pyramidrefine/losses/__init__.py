"""Registered losses: pixel (L1, class-rebalanced L1), colour classes, adversarial
(vanilla, lsgan, hinge) and pix2pix's composite."""

from . import colour_classes, gan, pix2pix, pixel, rebalanced
from .colour_classes import ColourClassObjective
from .gan import GANLoss
from .pix2pix import Pix2PixObjective
from .rebalanced import RebalancedL1

__all__ = [
    "ColourClassObjective",
    "GANLoss",
    "Pix2PixObjective",
    "RebalancedL1",
    "colour_classes",
    "gan",
    "pix2pix",
    "pixel",
    "rebalanced",
]
