"""Registered losses: pixel (L1), adversarial (vanilla, lsgan, hinge) and pix2pix's composite."""

from . import gan, pix2pix, pixel
from .gan import GANLoss
from .pix2pix import Pix2PixObjective

__all__ = ["GANLoss", "Pix2PixObjective", "gan", "pix2pix", "pixel"]
