"""Frequency bands for refinement that keeps the coarse colour (a Laplacian pyramid step).

With ``CoarseToFine(refinement="detail")`` a fine level's output is its prior plus the
detail band of what its generator predicts: the part that the previous level, at half the
size, cannot resolve. The low band (the colour of regions) then comes from the coarse
levels alone, by construction, however many levels run. ``decision_levels=n`` lets the
``n`` coarsest levels decide together (each may redecide its prior, as a generator trained
unrolled over ``n`` levels does) before the detail rule applies.
"""

from __future__ import annotations

import torch

from .errors import ConfigurationError
from .geometry import low_band_size
from .tiling import resize

REFINEMENTS = ("full", "detail")


def check_refinement(refinement: str) -> None:
    """Refuse a refinement that is not one of :data:`REFINEMENTS`."""
    if refinement not in REFINEMENTS:
        raise ConfigurationError(
            f"refinement must be one of {', '.join(REFINEMENTS)}, got {refinement!r}"
        )


def detail_band(x: torch.Tensor) -> torch.Tensor:
    """``x`` minus its low band: ``x`` shrunk to half its size (antialiased) and grown back."""
    height, width = x.shape[-2:]
    return x - resize(resize(x, low_band_size(height, width)), (height, width))


def refine(prior: torch.Tensor | None, prediction: torch.Tensor, refinement: str) -> torch.Tensor:
    """A level's output from its ``prior`` and its generator's ``prediction``.

    ``"full"``: the prediction (the generator may redecide everything); ``"detail"``: the
    prior plus the prediction's detail band. Without a prior (the coarsest level): the
    prediction.
    """
    if refinement == "full" or prior is None:
        return prediction
    return prior.to(prediction.dtype) + detail_band(prediction)
