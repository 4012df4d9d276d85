"""Colour hints for a colorizer without guide channels: the hints' differences from its
prediction, spread in two stages.

The network colours the photo as it would without hints. At each hinted region (a point or
a patch, 8-connected) the hint's ab minus the prediction's is a correction ``δ``.

1. **Far, by likeness**: a hint whose correction is moderate says as much about the
   pixels that look like it as about its neighbours (a cast of the whole sky, a face's
   tint). The corrections are regressed on likeness (Gaussian-process regression, the
   kriging of geostatistics): with ``k(p, q)`` a Gaussian of the differences in L, in the
   predicted ab and in position, a pixel takes ``k_pᵀ (K + N)⁻¹ δ``, ``K`` the kernel between
   the hinted regions and ``N`` their noise, ``noise · exp((|δ_r| / largest)²)``. The hints' weights
   are solved for together (hints alike to each other share their say), and far from
   every hint in likeness the correction falls to none. A large correction (a red
   hint on a grey cup) is about its object, not about things of its grey: its noise keeps
   it out of this stage.
2. **Near, along the luminance** (after Levin, Lischinski and Weiss, "Colorization using
   Optimization", 2004): what stage 1 left of each correction, ``ε``, is spread by the
   correction ``U`` (per ab channel) that minimises

       Σ_neighbours w_pq (U_p − U_q)² + Σ_p U_p² / length² + β Σ_hinted (U_p − ε_p)²

   with ``w_pq = exp(−((L_p − L_q) / edge)² − |ab_p − ab_q|² / chroma_edge²)`` over
   4-neighbours (``ab`` the prediction's): it fills the region of similar luminance and
   predicted colour around each hint, is held back at their edges and fades over
   about ``length`` pixels of the working size for a single hint, ``length·√n`` for ``n``
   separate hints. The system is sparse, symmetric and positive definite; SciPy's SuperLU
   solves it once for both channels.

Both run at a working size (a long side of ``side``, the coarse level's); the sum is
upsampled bilinearly and added to the prediction, whose own detail stays. Without hints
nothing changes.
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
NEAR_CHROMA_EDGE = 2.0  # ab units: a step of this much in the predicted colour passes e^-1
LIKENESS_LIGHTNESS = 30.0  # L units: the far stage's kernel width in lightness
LIKENESS_CHROMA = 15.0  # ab units: its width in the predicted colour
LIKENESS_REACH = 1.5  # its width in position, in long sides of the photo
LIKENESS_NOISE = 0.3  # a hint's noise against the kernel's unit variance: a lone one's reach
LIKENESS_LARGEST = 20.0  # ab units: corrections well above this stay out of the far stage
REACH_EDGE = 10.0  # L units: the luminance steps that wall the far stage off from a region
REACH_LENGTH = 200.0  # pixels of the working size: its walls leak over about this


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
        sample_lightness = lightness[sample, 0].cpu().numpy()
        sample_chroma = (predicted[sample] * AB_SCALE).cpu().numpy()
        wanted = (hints[sample, :2] * AB_SCALE).cpu().numpy() - sample_chroma
        far = spread_by_likeness(sample_lightness, sample_chroma, mask, wanted)
        near = spread(
            sample_lightness,
            mask,
            (wanted - far) * mask,
            fade_length(mask, length),
            edge,
            chroma=sample_chroma,
        )
        corrections.append(far + near)
    correction = torch.from_numpy(np.stack(corrections)).to(chroma.device) / AB_SCALE
    return (chroma.float() + resize(correction, chroma.shape[-2:])).to(chroma.dtype)


def fade_length(mask: np.ndarray, length: float) -> float:
    """``length`` times the square root of the number of separate hinted regions of
    ``mask`` (8-connected: a patch hint is one region)."""
    import scipy.ndimage

    _, regions = scipy.ndimage.label(mask, structure=np.ones((3, 3)))
    return length * math.sqrt(max(regions, 1))


def spread_by_likeness(
    lightness: np.ndarray, chroma: np.ndarray, mask: np.ndarray, wanted: np.ndarray
) -> np.ndarray:
    """Stage 1: the ``2×H×W`` correction each pixel takes from the hinted regions of
    ``mask`` that look like it (lightness ``H×W`` in L units, predicted ``chroma`` and
    ``wanted`` corrections ``2×H×W`` in ab units); zeros where no pixel is hinted."""
    import scipy.ndimage

    height, width = mask.shape
    labels, regions = scipy.ndimage.label(mask, structure=np.ones((3, 3)))
    if regions == 0:
        return np.zeros((2, height, width), np.float32)
    rows, columns = np.mgrid[0:height, 0:width] / (max(height, width) * LIKENESS_REACH)
    # every pixel as a point of likeness space, in kernel widths
    likeness = np.concatenate(
        [lightness[None] / LIKENESS_LIGHTNESS, chroma / LIKENESS_CHROMA, rows[None], columns[None]]
    )
    inside = [labels == region for region in range(1, regions + 1)]
    centres = np.stack([likeness[:, region].mean(axis=1) for region in inside])
    corrections = np.stack([wanted[:, region].mean(axis=1) for region in inside])
    between = np.exp(-(((centres[:, None] - centres[None]) ** 2).sum(-1)))
    noise = LIKENESS_NOISE * np.exp((np.hypot(*corrections.T) / LIKENESS_LARGEST) ** 2)
    weights = np.linalg.solve(between + np.diag(noise), corrections)  # regions × 2
    total = np.zeros((2, height, width))
    for centre, weight in zip(centres, weights, strict=True):
        kernel = np.exp(-(((likeness - centre[:, None, None]) ** 2).sum(0)))
        total += kernel * weight[:, None, None]
    # how well each pixel connects to some hint (a random walk's chance of meeting one
    # before it is stopped): strong luminance edges wall the far stage off
    reach = spread(lightness, mask, mask[None].astype(np.float64), REACH_LENGTH, REACH_EDGE)
    return (reach[0].clip(0.0, 1.0) * total).astype(np.float32)


def spread(
    lightness: np.ndarray,
    mask: np.ndarray,
    wanted: np.ndarray,
    length: float,
    edge: float,
    chroma: np.ndarray | None = None,
) -> np.ndarray:
    """The ``C×H×W`` correction that takes ``wanted`` (``C×H×W``) where ``mask`` (``H×W``
    bool) is set and spreads it along ``lightness`` (``H×W``, L in [0, 100]) over about
    ``length`` pixels, held back by steps of ``edge`` L units and, with the predicted
    ``chroma`` (``2×H×W`` ab units), of ``NEAR_CHROMA_EDGE`` in it; zeros where no pixel
    is hinted."""
    import scipy.sparse  # 0.3 s of import, paid only by calls with hints
    import scipy.sparse.linalg

    channels, height, width = wanted.shape
    if not mask.any():
        return np.zeros_like(wanted, dtype=np.float32)
    pixels = np.arange(height * width).reshape(height, width)
    features = lightness[None] / edge
    if chroma is not None:
        features = np.concatenate([features, chroma / NEAR_CHROMA_EDGE])
    first, second, weights = [], [], []
    for a, b, fa, fb in (
        (pixels[:, :-1], pixels[:, 1:], features[:, :, :-1], features[:, :, 1:]),
        (pixels[:-1, :], pixels[1:, :], features[:, :-1, :], features[:, 1:, :]),
    ):
        first.append(a.ravel())
        second.append(b.ravel())
        weights.append(np.exp(-(((fa - fb) ** 2).sum(0))).ravel())
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
