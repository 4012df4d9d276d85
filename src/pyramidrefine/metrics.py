"""Image-quality metrics: L1, SSIM, PSNR (torchmetrics), colourfulness, hue hits and a
tile-seam index."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from ._compat import import_torchvision
from .errors import InvalidInputError


def l1(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute error."""
    return F.l1_loss(prediction.float(), target.float()).item()


def ssim(prediction_rgb: torch.Tensor, target_rgb: torch.Tensor) -> float:
    """Mean SSIM of ``B×3×H×W`` images in [0, 1] (Gaussian window, torchmetrics defaults)."""
    functional = _torchmetrics_image()
    prediction, target = _check_pair(prediction_rgb, target_rgb)
    return functional.structural_similarity_index_measure(prediction, target, data_range=1.0).item()


def psnr(prediction_rgb: torch.Tensor, target_rgb: torch.Tensor) -> float:
    """PSNR in dB of ``B×3×H×W`` images in [0, 1] (``inf`` for identical images)."""
    functional = _torchmetrics_image()
    prediction, target = _check_pair(prediction_rgb, target_rgb)
    return functional.peak_signal_noise_ratio(prediction, target, data_range=1.0).item()


def colourfulness(rgb: torch.Tensor) -> float:
    """Hasler & Süsstrunk (2003) colourfulness on the 0–255 scale, averaged over the batch.

    ``σ_rgyb + 0.3·μ_rgyb`` with ``rg = R - G`` and ``yb = (R + G)/2 - B``; 0 for grey images.
    """
    red, green, blue = (_check_rgb(rgb) * 255.0).flatten(2).unbind(1)
    rg, yb = red - green, (red + green) / 2 - blue
    spread = torch.sqrt(rg.var(dim=1, correction=0) + yb.var(dim=1, correction=0))
    offset = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return (spread + 0.3 * offset).mean().item()


def hue_hits(
    prediction_ab: torch.Tensor,
    target_ab: torch.Tensor,
    *,
    saturated: float = 20.0,
    coloured: float = 10.0,
    max_angle: float = 45.0,
) -> tuple[int, int]:
    """``(hits, saturated pixels)``: of the pixels whose true chroma exceeds ``saturated``,
    how many the prediction colours (chroma above ``coloured``) with a hue within
    ``max_angle`` degrees of the truth's. ``*_ab`` are ``B×2×H×W`` in CIE Lab units.

    L1 rewards grey; this counts the colours a model gets right. ``hits / saturated`` is
    the hue hit rate.
    """
    prediction_ab, target_ab = prediction_ab.float(), target_ab.float()
    true_chroma = torch.linalg.vector_norm(target_ab, dim=1)
    predicted_chroma = torch.linalg.vector_norm(prediction_ab, dim=1)
    true_hue = torch.atan2(target_ab[:, 1], target_ab[:, 0])
    predicted_hue = torch.atan2(prediction_ab[:, 1], prediction_ab[:, 0])
    difference = torch.remainder(predicted_hue - true_hue + torch.pi, 2 * torch.pi) - torch.pi
    relevant = true_chroma > saturated
    hits = (
        relevant & (predicted_chroma > coloured) & (difference.abs() <= max_angle * torch.pi / 180)
    )
    return int(hits.sum()), int(relevant.sum())


def seam_index(image: torch.Tensor, rows: Sequence[int], cols: Sequence[int]) -> float:
    """Mean |gradient| across tile borders divided by the mean elsewhere (≈1: no seams).

    ``image`` is ``C×H×W`` or ``B×C×H×W``; a border ``r`` in ``rows`` lies between pixel rows
    ``r - 1`` and ``r`` (likewise for ``cols``). All channels count.
    """
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4:
        raise InvalidInputError(f"expected a C×H×W or B×C×H×W image, got {tuple(image.shape)}")
    height, width = image.shape[-2:]
    if not rows and not cols:
        raise InvalidInputError("seam_index needs at least one border in rows or cols")
    _check_borders(rows, height, "rows")
    _check_borders(cols, width, "cols")
    image = image.float()
    vertical = (image[..., 1:, :] - image[..., :-1, :]).abs()  # index r-1: between r-1 and r
    horizontal = (image[..., :, 1:] - image[..., :, :-1]).abs()
    on_rows = torch.zeros(height - 1, dtype=torch.bool)
    on_rows[[r - 1 for r in rows]] = True
    on_cols = torch.zeros(width - 1, dtype=torch.bool)
    on_cols[[c - 1 for c in cols]] = True
    across = torch.cat([vertical[..., on_rows, :].flatten(), horizontal[..., on_cols].flatten()])
    away = torch.cat([vertical[..., ~on_rows, :].flatten(), horizontal[..., ~on_cols].flatten()])
    if not len(away):
        raise InvalidInputError("every gradient lies on a border: give fewer rows/cols")
    across_mean, away_mean = across.mean().item(), away.mean().item()
    if away_mean == 0:
        return float("inf") if across_mean > 0 else 1.0
    return across_mean / away_mean


def _check_borders(lines: Sequence[int], size: int, name: str) -> None:
    bad = [line for line in lines if not 1 <= line <= size - 1]
    if bad:
        raise InvalidInputError(
            f"{name} {bad} are not inner borders of a side of {size}: use values in 1..{size - 1}"
        )


def _check_rgb(rgb: torch.Tensor) -> torch.Tensor:
    if not isinstance(rgb, torch.Tensor) or rgb.ndim != 4 or rgb.shape[1] != 3:
        shape = tuple(rgb.shape) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
        raise InvalidInputError(f"expected a B×3×H×W RGB tensor in [0, 1], got {shape}")
    return rgb.float()


def _check_pair(prediction: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
    prediction, target = _check_rgb(prediction), _check_rgb(target)
    if prediction.shape != target.shape:
        raise InvalidInputError(
            f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in shape"
        )
    return prediction, target


def _torchmetrics_image():
    import_torchvision()  # torchmetrics' image package imports torchvision
    from torchmetrics.functional import image

    return image
