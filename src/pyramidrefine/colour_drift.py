"""Does the colour stay decided? Scale consistency and departure from a coarse prediction.

A coarse-to-fine colorizer should decide the colour at its coarse levels and only add
detail at the fine ones. Two measures tell when it does not:

- :func:`scale_drift`: the same photo coloured at two sizes, the larger result brought to
  the smaller's size; mean ab distance (Lab units). A user who colours a scan at two
  resolutions should get one photo.
- :func:`coarse_departure`: the area where a result's colour, brought to the size of a
  coarse prediction (e.g. the ``lowres`` method's), departs from that prediction by more
  than a threshold: blobs, casts and lines that a fine level painted over a flat prior.

Both take ab in CIE Lab units (``B×2×H×W``) and are computed at the smaller size with an
antialiased resize (:func:`pyramidrefine.tiling.resize`), so they ignore detail finer than
the smaller image resolves.
"""

from __future__ import annotations

import torch

from .errors import InvalidInputError
from .tiling import resize


def scale_drift(reference_ab: torch.Tensor, other_ab: torch.Tensor) -> float:
    """Mean ``‖Δab‖`` between ``reference_ab`` and ``other_ab`` brought to its size."""
    _check_ab(reference_ab, "reference_ab")
    _check_ab(other_ab, "other_ab")
    other = resize(other_ab.float(), tuple(reference_ab.shape[-2:]))
    return torch.linalg.vector_norm(other - reference_ab.float(), dim=1).mean().item()


def coarse_departure(
    ab: torch.Tensor, coarse_ab: torch.Tensor, *, threshold: float = 10.0
) -> float:
    """Fraction of the image where ``ab``, at ``coarse_ab``'s size, departs from it by more
    than ``threshold`` Lab units (0: the fine result keeps the coarse colour everywhere)."""
    _check_ab(ab, "ab")
    _check_ab(coarse_ab, "coarse_ab")
    if threshold <= 0:
        raise InvalidInputError(f"threshold must be positive, got {threshold}")
    brought = resize(ab.float(), tuple(coarse_ab.shape[-2:]))
    distance = torch.linalg.vector_norm(brought - coarse_ab.float(), dim=1)
    return (distance > threshold).float().mean().item()


def _check_ab(ab: torch.Tensor, name: str) -> None:
    if not isinstance(ab, torch.Tensor) or ab.ndim != 4 or ab.shape[1] != 2:
        shape = tuple(ab.shape) if isinstance(ab, torch.Tensor) else type(ab).__name__
        raise InvalidInputError(f"{name}: expected a B×2×H×W ab tensor, got {shape}")
