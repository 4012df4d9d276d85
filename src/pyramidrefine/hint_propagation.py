"""Colour hints for a colorizer without guide channels: the hints' differences from its
prediction, spread along the luminance (after Levin, Lischinski and Weiss, "Colorization
using Optimization", 2004).

The network colours the photo as it would without hints. At each hinted pixel the hint's
ab minus the prediction's is a constraint ``δ``, and the correction ``U`` (per ab channel)
minimises

    Σ_neighbours w_pq (U_p − U_q)² + Σ_p U_p² / length² + β Σ_hinted (U_p − δ_p)²

with ``w_pq = exp(−((L_p − L_q) / edge)²)`` over 4-neighbours: it spreads from each hint
through regions of similar luminance, is held back at luminance edges and fades over about
``length`` pixels of the working size for a single hint, ``length·√n`` for ``n`` separate
hints: the fade is the pull back towards the network's colours, which the more hints there
are, the less they need (one hint stays on its object; ten of the truth's colours correct
much of the photo between them). The system (one unknown per pixel of the working
size, a long side of ``side``) is sparse, symmetric and positive definite; SciPy's SuperLU
solves it once for both channels. The correction is upsampled bilinearly and added to the
prediction, whose own detail stays. Without hints nothing changes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from einops import rearrange

from .geometry import scale_long_side
from .guides import sparse_resize
from .lab import AB_SCALE, L_SCALE
from .tiling import resize

DEFAULT_SIDE = 128  # the coarse level's size: where the pyramid decides the colour
DEFAULT_LENGTH = 40.0  # pixels of the working size over which a single hint fades
DEFAULT_EDGE = 3.0  # Lab L units: a step of this much passes e^-1 of the spread
CONSTRAINT_WEIGHT = 100.0  # β: how closely a hinted pixel takes its hint


def propagate_hints(
    inputs: torch.Tensor,
    chroma: torch.Tensor,
    guide: torch.Tensor,
    *,
    side: int = DEFAULT_SIDE,
    length: float = DEFAULT_LENGTH,
    edge: float = DEFAULT_EDGE,
) -> torch.Tensor:
    """``chroma`` (``B×2×H×W`` normalised ab, the prediction for the normalised L
    ``inputs``, ``B×1×H×W``) corrected towards the hints of ``guide`` (``B×3×H×W``: the
    hints' normalised ab and a mask, :func:`~pyramidrefine.hints.render_guide`)."""
    size = scale_long_side(*inputs.shape[-2:], side, enlarge=False)
    lightness = (resize(inputs.float(), size) + 1.0) * L_SCALE
    predicted = resize(chroma.float(), size)
    hints = sparse_resize(guide.float(), size)
    corrections = []
    for sample in range(inputs.shape[0]):
        mask = (hints[sample, 2] > 0).cpu().numpy()
        wanted = (hints[sample, :2] - predicted[sample]) * AB_SCALE
        corrections.append(
            spread(
                lightness[sample, 0].cpu().numpy(),
                mask,
                wanted.cpu().numpy(),
                fade_length(mask, length),
                edge,
            )
        )
    correction = torch.from_numpy(np.stack(corrections)).to(chroma.device) / AB_SCALE
    return (chroma.float() + resize(correction, chroma.shape[-2:])).to(chroma.dtype)


def fade_length(mask: np.ndarray, length: float) -> float:
    """``length`` times the square root of the number of separate hinted regions of
    ``mask`` (8-connected: a patch hint is one region)."""
    import scipy.ndimage

    _, regions = scipy.ndimage.label(mask, structure=np.ones((3, 3)))
    return length * math.sqrt(max(regions, 1))


def spread(
    lightness: np.ndarray, mask: np.ndarray, wanted: np.ndarray, length: float, edge: float
) -> np.ndarray:
    """The ``C×H×W`` correction that takes ``wanted`` (``C×H×W``) where ``mask`` (``H×W``
    bool) is set and spreads it along ``lightness`` (``H×W``, L in [0, 100]) over about
    ``length`` pixels, held back by steps of ``edge`` L units; zeros where no pixel is
    hinted."""
    import scipy.sparse  # 0.3 s of import, paid only by calls with hints
    import scipy.sparse.linalg

    channels, height, width = wanted.shape
    if not mask.any():
        return np.zeros_like(wanted, dtype=np.float32)
    pixels = np.arange(height * width).reshape(height, width)
    first, second, weights = [], [], []
    for a, b, la, lb in (
        (pixels[:, :-1], pixels[:, 1:], lightness[:, :-1], lightness[:, 1:]),
        (pixels[:-1, :], pixels[1:, :], lightness[:-1, :], lightness[1:, :]),
    ):
        first.append(a.ravel())
        second.append(b.ravel())
        weights.append(np.exp(-(((la - lb) / edge) ** 2)).ravel())
    rows, columns = np.concatenate(first), np.concatenate(second)
    weight = np.concatenate(weights).astype(np.float64)
    count = height * width
    affinity = scipy.sparse.coo_matrix((weight, (rows, columns)), shape=(count, count))
    affinity = (affinity + affinity.T).tocsr()
    hinted = mask.ravel().astype(np.float64)
    diagonal = np.asarray(affinity.sum(axis=1)).ravel() + 1.0 / length**2
    system = scipy.sparse.diags(diagonal + CONSTRAINT_WEIGHT * hinted) - affinity
    right = CONSTRAINT_WEIGHT * hinted[:, None] * rearrange(wanted, "c h w -> (h w) c")
    solve = scipy.sparse.linalg.factorized(system.tocsc())
    solved = np.stack([solve(right[:, channel]) for channel in range(channels)])
    return rearrange(solved, "c (h w) -> c h w", h=height).astype(np.float32)
