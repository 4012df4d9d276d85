"""Adversarial losses on lists of logit maps (one per discriminator scale)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, get_args

import torch
from torch.nn import functional as F

from ..errors import ConfigurationError, InvalidInputError
from ..registry import register_loss

GANMode = Literal["vanilla", "lsgan", "hinge"]


class GANLoss:
    """Generator and discriminator losses of one GAN flavour, averaged over scales.

    ``"vanilla"``: binary cross-entropy on logits; ``"lsgan"``: squared error to 1 (real) and
    0 (fake); ``"hinge"``: ``relu(1 - real) + relu(1 + fake)`` for the discriminator and
    ``-fake`` for the generator. The discriminator loss is the sum of its real and fake terms.
    """

    def __init__(self, mode: GANMode = "vanilla") -> None:
        if mode not in get_args(GANMode):
            raise ConfigurationError(
                f"unknown GAN loss {mode!r}; choose one of "
                f"{', '.join(map(repr, get_args(GANMode)))}"
            )
        self.mode = mode

    def generator_loss(self, fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
        """Loss of the generator: its outputs should be judged real."""
        if self.mode == "hinge":
            return _mean_over_scales(fake_logits, lambda fake: -fake.mean())
        return _mean_over_scales(fake_logits, lambda fake: self._versus(fake, real=True))

    def discriminator_loss(
        self, real_logits: Sequence[torch.Tensor], fake_logits: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        """Loss of the discriminator: real inputs judged real, fake ones fake."""
        if len(real_logits) != len(fake_logits):
            raise InvalidInputError(
                f"got {len(real_logits)} real and {len(fake_logits)} fake logit maps; "
                "pass one of each per discriminator scale"
            )
        if self.mode == "hinge":
            real = _mean_over_scales(real_logits, lambda x: F.relu(1.0 - x).mean())
            fake = _mean_over_scales(fake_logits, lambda x: F.relu(1.0 + x).mean())
        else:
            real = _mean_over_scales(real_logits, lambda x: self._versus(x, real=True))
            fake = _mean_over_scales(fake_logits, lambda x: self._versus(x, real=False))
        return real + fake

    def _versus(self, logits: torch.Tensor, *, real: bool) -> torch.Tensor:
        target = torch.full_like(logits, 1.0 if real else 0.0)
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(logits, target)
        return F.mse_loss(logits, target)

    def __repr__(self) -> str:
        return f"GANLoss({self.mode!r})"


def _mean_over_scales(
    logits: Sequence[torch.Tensor], loss: Callable[[torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    if isinstance(logits, torch.Tensor) or not logits:
        raise InvalidInputError(
            "expected a non-empty list of logit maps (one per scale), got "
            f"{'a tensor' if isinstance(logits, torch.Tensor) else 'an empty list'}; "
            "wrap a single map in a list"
        )
    return torch.stack([loss(x) for x in logits]).mean()


def _register(mode: GANMode) -> None:
    def factory() -> GANLoss:
        return GANLoss(mode)

    factory.__doc__ = f"{mode!r} GAN loss (see :class:`GANLoss`)."
    register_loss(mode)(factory)


for _mode in get_args(GANMode):
    _register(_mode)
