"""A generator that predicts a distribution over colour bins and returns its annealed mean.

Any registered generator becomes one with ``colour_bins`` in its keyword arguments (e.g.
``CoarseToFine("smp", ..., refiner={"colour_bins": None}, colour_bins=22)``: the coarse
level classifies, the finer levels regress). Outside the head the generator is an ordinary
two-channel one: tiling, export, folding and the pyramid see ab. While training, the head
keeps its last logits in ``class_logits`` for a classification loss
(:class:`~pyramidrefine.losses.ColourClassObjective`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..colour_bins import ColourGrid
from ..errors import ConfigurationError
from . import required_multiple

DEFAULT_TEMPERATURE = 0.38  # Zhang, Isola and Efros's annealed mean


class ColourClassHead(nn.Module):
    """``inner`` (``bins²`` output channels) decoded to ``B×2×H×W`` chroma by the annealed
    mean at ``temperature`` (see :meth:`~pyramidrefine.colour_bins.ColourGrid.annealed_mean`)."""

    def __init__(
        self, inner: nn.Module, bins: int, temperature: float = DEFAULT_TEMPERATURE
    ) -> None:
        super().__init__()
        if not 0.01 <= temperature <= 10:
            raise ConfigurationError(f"colour_temperature must be in [0.01, 10], got {temperature}")
        self.inner = inner
        self.grid = ColourGrid(bins)
        self.temperature = temperature
        self.class_logits: torch.Tensor | None = None
        self.required_multiple = required_multiple(inner)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.inner(x)
        self.class_logits = logits if self.training else None
        return self.grid.annealed_mean(logits, self.temperature)


def with_colour_head(
    inner: nn.Module, out_channels: int, bins: int, temperature: float
) -> ColourClassHead:
    """``inner`` wrapped in a :class:`ColourClassHead`; only for two-channel outputs."""
    if out_channels != 2:
        raise ConfigurationError(
            f"colour_bins classifies two-channel chroma (colorization's ab); this task has "
            f"{out_channels} output channels: remove colour_bins"
        )
    return ColourClassHead(inner, bins, temperature)
