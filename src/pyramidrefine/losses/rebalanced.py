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
from torch import nn
from torch.nn import functional as F

from ..errors import ConfigurationError
from ..registry import register_loss


@register_loss("rebalanced_l1")
class RebalancedL1(nn.Module):
    """Mean of ``w(bin(target))·|prediction - target|`` over pixels and both channels.

    Args:
        bins: bins per channel of the grid over ``[-extent, extent]²`` (22 bins of about 10
            Lab units for ab / 110).
        mix: weight of the uniform distribution mixed into the observed one, ``λ`` of the
            paper (0: pure inverse frequency, 1: plain L1).
        extent: half-width of the grid in target units.
        smoothing: standard deviation, in bins, of the Gaussian blur of the counts.

    The weights are normalised so that their mean under the observed distribution is 1:
    the loss stays on the scale of plain L1.
    """

    def __init__(
        self, bins: int = 22, mix: float = 0.5, extent: float = 1.0, smoothing: float = 0.5
    ) -> None:
        super().__init__()
        if not 2 <= bins <= 256:
            raise ConfigurationError(f"bins must be in [2, 256], got {bins}")
        if not 0.0 < mix <= 1.0:
            raise ConfigurationError(f"mix must be in (0, 1], got {mix}")
        if extent <= 0 or smoothing < 0:
            raise ConfigurationError("extent must be positive and smoothing non-negative")
        self.bins, self.mix, self.extent, self.smoothing = bins, mix, extent, smoothing
        self.register_buffer("counts", torch.zeros(bins * bins, dtype=torch.float64))

    def bin_index(self, target: torch.Tensor) -> torch.Tensor:
        """``B×H×W`` flat bin index of each pixel of a ``B×2×H×W`` target."""
        scaled = (target.detach().float() + self.extent) / (2 * self.extent) * self.bins
        cell = scaled.floor().long().clamp(0, self.bins - 1)
        return cell[:, 0] * self.bins + cell[:, 1]

    def weights(self) -> torch.Tensor:
        """Weight of every bin from the counts so far (uniform before any)."""
        total = self.counts.sum()
        if total == 0:
            return torch.ones_like(self.counts, dtype=torch.float32)
        observed = self._smoothed(self.counts / total)
        occupied = int((self.counts > 0).sum())
        weight = 1.0 / ((1.0 - self.mix) * observed + self.mix / occupied)
        weight = weight / (observed * weight).sum()
        return weight.float()

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.ndim != 4 or target.shape[1] != 2 or prediction.shape != target.shape:
            raise ConfigurationError(
                "rebalanced_l1 weighs two-channel chroma (B×2×H×W, as colorization's ab); "
                f"got prediction {tuple(prediction.shape)} and target {tuple(target.shape)}: "
                "use the plain 'l1' loss for other tasks"
            )
        index = self.bin_index(target)
        if self.training:
            self.counts += torch.bincount(index.flatten().cpu(), minlength=self.bins**2).to(
                self.counts
            )
        pixel_weight = self.weights().to(prediction.device)[index].unsqueeze(1)
        return (pixel_weight * (prediction - target).abs()).mean()

    def _smoothed(self, distribution: torch.Tensor) -> torch.Tensor:
        if self.smoothing == 0:
            return distribution
        radius = max(1, round(3 * self.smoothing))
        offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
        kernel = torch.exp(-0.5 * (offsets / self.smoothing) ** 2)
        kernel = (kernel / kernel.sum()).to(distribution)
        grid = distribution.view(1, 1, self.bins, self.bins)
        grid = F.conv2d(grid, kernel.view(1, 1, 1, -1), padding=(0, radius))
        grid = F.conv2d(grid, kernel.view(1, 1, -1, 1), padding=(radius, 0))
        return grid.flatten()
