"""pix2pix objective: λ·(a pixel loss, L1 by default) to the target plus an adversarial term."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.nn import functional as F

from ..errors import ConfigurationError
from ..registry import create_loss, register_loss
from .gan import GANLoss, GANMode


@register_loss("pix2pix")
class Pix2PixObjective:
    """Generator loss ``l1_weight·pixel + GAN`` and the matching discriminator loss.

    ``gan=None`` trains with the pixel loss only. ``pixel`` names the registered pixel loss
    (``"l1"``; ``"rebalanced_l1"`` weighs rare colours up, see
    :mod:`~pyramidrefine.losses.rebalanced`), built with ``pixel_kwargs``. As in pix2pix,
    the discriminator loss is halved, which slows the discriminator relative to the
    generator.
    """

    def __init__(
        self,
        l1_weight: float = 100.0,
        gan: GANMode | None = "vanilla",
        pixel: str = "l1",
        pixel_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        if l1_weight < 0:
            raise ConfigurationError(f"l1_weight must be non-negative, got {l1_weight}")
        self.l1_weight = float(l1_weight)
        self.gan = None if gan is None else GANLoss(gan)
        self.pixel_name = pixel
        self.pixel = create_loss(pixel, **dict(pixel_kwargs or {}))
        call = getattr(self.pixel, "forward", self.pixel)  # a module's own arguments
        self.pixel_takes_condition = "condition" in inspect.signature(call).parameters

    def generator_loss(
        self,
        prediction: torch.Tensor,
        target: torch.Tensor,
        fake_logits: Sequence[torch.Tensor] | None = None,
        condition: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total generator loss and its parts (``"l1"``, the pixel loss when it is not L1,
        ``"gan"``, ``"total"``) as floats.

        The GAN term is 0 when ``gan`` is None or no ``fake_logits`` are given; the level's
        input ``condition`` goes to pixel losses that take one.
        """
        l1 = F.l1_loss(prediction, target)
        if self.pixel_name == "l1":
            pixel = l1
        elif self.pixel_takes_condition:
            pixel = self.pixel(prediction, target, condition=condition)
        else:
            pixel = self.pixel(prediction, target)
        total = self.l1_weight * pixel
        gan = torch.zeros((), device=l1.device)
        if self.gan is not None and fake_logits is not None:
            gan = self.gan.generator_loss(fake_logits)
            total = total + gan
        parts = {"l1": l1.item(), "gan": gan.item(), "total": total.item()}
        if pixel is not l1:
            parts[self.pixel_name] = pixel.item()
        return total, parts

    def discriminator_loss(
        self, real_logits: Sequence[torch.Tensor], fake_logits: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """Half the GAN discriminator loss (pix2pix convention)."""
        if self.gan is None:
            raise ConfigurationError(
                "this Pix2PixObjective has gan=None and trains no discriminator; "
                "pass gan='vanilla', 'lsgan' or 'hinge' to train one"
            )
        return 0.5 * self.gan.discriminator_loss(real_logits, fake_logits)
