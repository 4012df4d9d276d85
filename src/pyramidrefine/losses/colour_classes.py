"""Colour classification: rebalanced cross-entropy over colour bins where a level has a
colour-class head, the pix2pix terms elsewhere (Zhang, Isola and Efros, 2016)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..colour_bins import ColourGrid, ColourHistogram
from ..registry import register_loss
from .gan import GANMode
from .pix2pix import Pix2PixObjective
from .rebalanced import check_chroma


@register_loss("colour_classes")
class ColourClassObjective(Pix2PixObjective):
    """``class_weight ·`` rebalanced soft cross-entropy on a level's ``class_logits``
    (levels run by a :class:`~pyramidrefine.generators.colour_head.ColourClassHead`), the
    pix2pix loss (``l1_weight·pixel + GAN``) on the levels without.

    Args:
        bins: the head's bins per channel (``colour_bins`` of the model).
        mix, smoothing: the rebalancing (:class:`~pyramidrefine.colour_bins.ColourHistogram`;
            ``mix=1``: no rebalancing).
        class_weight: weight of the cross-entropy.
        l1_weight, gan, pixel, pixel_kwargs: as :class:`Pix2PixObjective`.
    """

    def __init__(
        self,
        l1_weight: float = 100.0,
        gan: GANMode | None = None,
        bins: int = 22,
        mix: float = 0.5,
        smoothing: float = 0.5,
        class_weight: float = 1.0,
        pixel: str = "l1",
        pixel_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(l1_weight=l1_weight, gan=gan, pixel=pixel, pixel_kwargs=pixel_kwargs)
        self.grid = ColourGrid(bins)
        self.histogram = ColourHistogram(self.grid, mix, smoothing)
        self.class_weight = float(class_weight)

    def generator_loss(
        self,
        prediction: torch.Tensor,
        target: torch.Tensor,
        fake_logits: Sequence[torch.Tensor] | None = None,
        class_logits: torch.Tensor | None = None,
        condition: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The cross-entropy (parts ``"ce"``, ``"l1"``, ``"total"``) when ``class_logits``
        are given, else :meth:`Pix2PixObjective.generator_loss`."""
        if class_logits is None:
            return super().generator_loss(prediction, target, fake_logits, condition)
        check_chroma(class_logits, target, "colour_classes")
        index = self.grid.index(target)
        self.histogram.add(index)
        pixel_weight = self.histogram.weights().to(target.device)[index]
        log_probabilities = torch.log_softmax(class_logits.float(), dim=1)
        corner, share = self.grid.corners(target)  # 4 bins a pixel: no dense targets
        cross_entropy = -(log_probabilities.gather(1, corner) * share).sum(dim=1)
        total = self.class_weight * (pixel_weight * cross_entropy).mean()
        l1 = torch.nn.functional.l1_loss(prediction, target)
        return total, {"ce": total.item(), "l1": l1.item(), "total": total.item()}
