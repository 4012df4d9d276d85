"""A grid of colour bins over two-channel chroma (the ab of Lab), after Zhang, Isola and
Efros, "Colorful Image Colorization" (2016): bin indices, soft targets, class rebalancing
and annealed-mean decoding.

Regression to a colour that could be blue or orange lands on grey; a distribution over
bins keeps both, and decoding it with a sharpened mean (the annealed mean) picks a vivid
colour without the speckle of taking the most likely bin. Rebalancing weighs pixels by how
rare their true colour is, counted from the targets seen so far.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from .errors import ConfigurationError


class ColourGrid:
    """``bins × bins`` square bins over ``[-extent, extent]²`` (22 bins of 10 Lab units for
    ab / 110); bin ``i * bins + j`` holds channel 0 in row ``i`` and channel 1 in column ``j``."""

    def __init__(self, bins: int = 22, extent: float = 1.0) -> None:
        if not 2 <= bins <= 64:
            raise ConfigurationError(f"colour bins must be in [2, 64] per channel, got {bins}")
        if extent <= 0:
            raise ConfigurationError(f"the colour grid's extent must be positive, got {extent}")
        self.bins, self.extent = bins, extent
        self.width = 2 * extent / bins
        axis = -extent + self.width * (torch.arange(bins) + 0.5)
        rows, columns = torch.meshgrid(axis, axis, indexing="ij")
        self._centres = torch.stack([rows.flatten(), columns.flatten()], dim=1)

    @property
    def count(self) -> int:
        """Number of bins."""
        return self.bins * self.bins

    def centres(self) -> torch.Tensor:
        """``count × 2`` chroma of the bin centres."""
        return self._centres.clone()

    def index(self, chroma: torch.Tensor) -> torch.Tensor:
        """``B×H×W`` bin of each pixel of ``B×2×H×W`` chroma (outside the grid: the edge bin)."""
        cell = ((chroma.detach().float() + self.extent) / self.width).floor().long()
        cell = cell.clamp(0, self.bins - 1)
        return cell[:, 0] * self.bins + cell[:, 1]

    def corners(self, chroma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The four bin centres nearest each pixel of ``B×2×H×W`` chroma and its bilinear
        share in each: ``B×4×H×W`` bin indices and shares (summing to 1), the soft
        encoding that keeps the loss smooth in colour."""
        position = ((chroma.detach().float() + self.extent) / self.width - 0.5).clamp(
            0, self.bins - 1
        )
        low = position.floor().clamp(max=self.bins - 2).long()
        fraction = position - low
        indices, shares = [], []
        for step_row in (0, 1):
            for step_column in (0, 1):
                share_row = fraction[:, 0] if step_row else 1 - fraction[:, 0]
                share_column = fraction[:, 1] if step_column else 1 - fraction[:, 1]
                indices.append((low[:, 0] + step_row) * self.bins + low[:, 1] + step_column)
                shares.append(share_row * share_column)
        return torch.stack(indices, dim=1), torch.stack(shares, dim=1)

    def annealed_mean(self, logits: torch.Tensor, temperature: float) -> torch.Tensor:
        """``B×2×H×W`` chroma of ``B×count×H×W`` logits: the mean of the bin centres under
        ``softmax(logits / temperature)`` (1: the mean; towards 0: the mode)."""
        probabilities = torch.softmax(logits.float() / temperature, dim=1)
        # the expectation as a 1×1 convolution: oneDNN/cuDNN-fast in either memory layout
        weight = rearrange(self._centres, "k c -> c k 1 1").to(probabilities.device)
        return F.conv2d(probabilities, weight).to(logits.dtype)


class ColourHistogram(nn.Module):
    """Counts of the true colours over a :class:`ColourGrid` and the rebalancing weights
    they give: ``w ∝ 1 / ((1 - mix)·p̃ + mix / occupied)``, ``p̃`` the counts' distribution
    blurred by ``smoothing`` bins, normalised so that the weights average to 1 under ``p̃``.
    """

    def __init__(self, grid: ColourGrid, mix: float = 0.5, smoothing: float = 0.5) -> None:
        super().__init__()
        if not 0.0 < mix <= 1.0:
            raise ConfigurationError(f"mix must be in (0, 1], got {mix}")
        if smoothing < 0:
            raise ConfigurationError(f"smoothing must be non-negative, got {smoothing}")
        self.grid, self.mix, self.smoothing = grid, mix, smoothing
        self.register_buffer("counts", torch.zeros(grid.count, dtype=torch.float64))

    def add(self, index: torch.Tensor) -> None:
        """Count the bins ``index`` holds."""
        counted = torch.bincount(index.flatten().cpu(), minlength=self.grid.count)
        self.counts += counted.to(self.counts)

    def weights(self) -> torch.Tensor:
        """Weight of every bin from the counts so far (uniform before any)."""
        total = self.counts.sum()
        if total == 0:
            return torch.ones_like(self.counts, dtype=torch.float32)
        observed = self._smoothed(self.counts / total)
        occupied = int((self.counts > 0).sum())
        weight = 1.0 / ((1.0 - self.mix) * observed + self.mix / occupied)
        return (weight / (observed * weight).sum()).float()

    def _smoothed(self, distribution: torch.Tensor) -> torch.Tensor:
        if self.smoothing == 0:
            return distribution
        radius = max(1, round(3 * self.smoothing))
        offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
        kernel = torch.exp(-0.5 * (offsets / self.smoothing) ** 2)
        kernel = (kernel / kernel.sum()).to(distribution)
        bins = self.grid.bins
        grid = rearrange(distribution, "(h w) -> 1 1 h w", h=bins, w=bins)
        grid = F.conv2d(grid, kernel.view(1, 1, 1, -1), padding=(0, radius))
        grid = F.conv2d(grid, kernel.view(1, 1, -1, 1), padding=(radius, 0))
        return grid.flatten()
