"""pix2pix objective: λ·L1 to the target plus an adversarial term."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from ..errors import ConfigurationError
from ..registry import register_loss
from .gan import GANLoss, GANMode


@register_loss("pix2pix")
class Pix2PixObjective:
    """Generator loss ``l1_weight·L1 + GAN`` and the matching discriminator loss.

    ``gan=None`` trains with L1 only. As in pix2pix, the discriminator loss is halved,
    which slows the discriminator relative to the generator.
    """

    def __init__(self, l1_weight: float = 100.0, gan: GANMode | None = "vanilla") -> None:
        if l1_weight < 0:
            raise ConfigurationError(f"l1_weight must be non-negative, got {l1_weight}")
        self.l1_weight = float(l1_weight)
        self.gan = None if gan is None else GANLoss(gan)

    def generator_loss(
        self,
        prediction: torch.Tensor,
        target: torch.Tensor,
        fake_logits: Sequence[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total generator loss and its parts (``"l1"``, ``"gan"``, ``"total"``) as floats.

        The GAN term is 0 when ``gan`` is None or no ``fake_logits`` are given.
        """
        l1 = F.l1_loss(prediction, target)
        total = self.l1_weight * l1
        gan = torch.zeros((), device=l1.device)
        if self.gan is not None and fake_logits is not None:
            gan = self.gan.generator_loss(fake_logits)
            total = total + gan
        parts = {"l1": l1.item(), "gan": gan.item(), "total": total.item()}
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
