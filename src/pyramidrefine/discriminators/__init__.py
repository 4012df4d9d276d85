"""Registered discriminators: conditional PatchGAN and its multi-scale stack."""

from . import multiscale, patchgan
from .multiscale import MultiScaleDiscriminator
from .patchgan import PatchGAN

__all__ = ["MultiScaleDiscriminator", "PatchGAN", "multiscale", "patchgan"]
