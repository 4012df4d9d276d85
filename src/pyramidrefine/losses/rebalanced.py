"""Class-rebalanced L1 for two-channel chroma (the ab of Lab), after Zhang, Isola and Efros,
"Colorful Image Colorization" (2016).

Plain L1 regresses to the conditional median, and the median of a colour that could be
blue or orange is grey: the colourizer comes out muted. Weighting every pixel by how rare
its true colour is (its bin in a grid over ab) moves the optimum towards the saturated
colours that natural photos hold in small areas. The distribution of colours is counted
from the targets seen so far, so no data pass is needed before training.
"""

from __future__ import annotations

import torch
from kornia.filters import box_blur
from torch import nn

from ..colour_bins import ColourGrid, ColourHistogram
from ..errors import ConfigurationError
from ..lab import L_SCALE
from ..registry import register_loss

TEXTURE_WINDOW = 15  # pixels: the window of the local standard deviation of L


def check_chroma(prediction: torch.Tensor, target: torch.Tensor, what: str) -> None:
    """Refuse a target that is not ``B×2×H×W`` chroma, or a prediction of other pixels."""
    shapes_differ = (
        prediction.shape[0] != target.shape[0] or prediction.shape[-2:] != target.shape[-2:]
    )
    if target.ndim != 4 or target.shape[1] != 2 or shapes_differ:
        raise ConfigurationError(
            f"{what} weighs two-channel chroma (B×2×H×W, as colorization's ab); got "
            f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)}: use the "
            "plain 'l1' loss for other tasks"
        )


@register_loss("rebalanced_l1")
class RebalancedL1(nn.Module):
    """Mean of ``w(bin(target))·|prediction - target|`` over pixels and both channels.

    Args:
        bins: bins per channel of the grid over ``[-extent, extent]²`` (22 bins of about 10
            Lab units for ab / 110).
        mix: weight of the uniform distribution mixed into the observed one, ``λ`` of the
            paper (1: plain L1).
        extent: half-width of the grid in target units.
        smoothing: standard deviation, in bins, of the Gaussian blur of the counts.
        texture: L units of local standard deviation (over ``TEXTURE_WINDOW`` pixels) at
            which a pixel keeps half its rebalancing: ``w = 1 + (w_bin − 1)·s²/(s² +
            texture²)``, so flat regions (a sky, dark water), where the luminance says
            nothing of the colour, fall back to plain L1 instead of taking a rare colour.
            ``None``: rebalanced everywhere. Needs the level's input (``condition``, its
            first channel the normalised L).

    The weights (:class:`~pyramidrefine.colour_bins.ColourHistogram`) average to 1 under
    the observed colours: the loss stays on the scale of plain L1. Counts grow while the
    module is in training mode.
    """

    def __init__(
        self,
        bins: int = 22,
        mix: float = 0.5,
        extent: float = 1.0,
        smoothing: float = 0.5,
        texture: float | None = None,
    ) -> None:
        super().__init__()
        if texture is not None and not texture > 0:
            raise ConfigurationError(f"texture must be positive L units or null, got {texture}")
        self.grid = ColourGrid(bins, extent)
        self.histogram = ColourHistogram(self.grid, mix, smoothing)
        self.texture = texture

    def forward(
        self,
        prediction: torch.Tensor,
        target: torch.Tensor,
        condition: torch.Tensor | None = None,
    ) -> torch.Tensor:
        check_chroma(prediction, target, "rebalanced_l1")
        index = self.grid.index(target)
        if self.training:
            self.histogram.add(index)
        pixel_weight = self.histogram.weights().to(prediction.device)[index].unsqueeze(1)
        if self.texture is not None:
            pixel_weight = 1.0 + (pixel_weight - 1.0) * self.textured(condition, target)
        return (pixel_weight * (prediction - target).abs()).mean()

    def textured(self, condition: torch.Tensor | None, target: torch.Tensor) -> torch.Tensor:
        """``s²/(s² + texture²)`` per pixel (``B×1×H×W``), ``s`` the local standard deviation
        of the condition's L in L units."""
        if condition is None or condition.shape[-2:] != target.shape[-2:]:
            raise ConfigurationError(
                "rebalanced_l1 with texture weighs by the luminance: it needs the level's "
                "input beside the prediction (the pix2pix objective passes it); set "
                "texture: null to rebalance everywhere"
            )
        lightness = condition[:, :1].float() * L_SCALE  # centred: no cancellation below
        lightness = lightness - lightness.mean(dim=(-2, -1), keepdim=True)
        window = (TEXTURE_WINDOW, TEXTURE_WINDOW)
        mean = box_blur(lightness, window, border_type="reflect")
        variance = (box_blur(lightness**2, window, border_type="reflect") - mean**2).clamp_min(0)
        return variance / (variance + self.texture**2)
