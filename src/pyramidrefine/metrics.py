"""Image-quality metrics: L1, SSIM, PSNR (torchmetrics), colourfulness, hue hits, a
tile-seam index, colour bleeding and colour on small saturated regions."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from .errors import InvalidInputError

_OPENING_SIDE = 9  # pixels of the opening's square where small_region_colour computes it


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
    red, green, blue = (check_rgb(rgb) * 255.0).flatten(2).unbind(1)
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


def colour_bleeding(
    ab: torch.Tensor, L: torch.Tensor, *, flat: float = 0.5, edges: float = 0.1
) -> float:
    """How much the colour changes where the luminance does not, relative to where it does.

    Over all pairs of horizontally or vertically neighbouring pixels: the mean chroma step
    ``‖Δab‖`` across the ``flat`` fraction of pairs with the smallest luminance step ``|ΔL|``,
    divided by the mean across the ``edges`` fraction with the largest. Low: the colour
    changes at the objects' edges and stays put inside them; about 1: colour changes are
    blind to the edges (blurred chroma bleeding across them). ``ab`` is ``B×2×H×W``, ``L``
    ``B×1×H×W`` (any consistent units); ``nan`` when the colour is constant.
    """
    ab, L = ab.float(), L.float()
    chroma_steps, luminance_steps = [], []
    for dim in (-2, -1):
        chroma_steps.append(torch.linalg.vector_norm(ab.diff(dim=dim), dim=1).flatten())
        luminance_steps.append(L.diff(dim=dim).abs().flatten())
    chroma, luminance = torch.cat(chroma_steps), torch.cat(luminance_steps)
    if luminance.numel() < 2:
        raise InvalidInputError("colour_bleeding needs an image of at least 2 pixels")
    count = len(luminance)
    inside = _mean_of_ranked(chroma, luminance, max(1, round(flat * count)))
    across = _mean_of_ranked(chroma, -luminance, max(1, round(edges * count)))
    return inside / across if across > 0 else float("nan")


def _mean_of_ranked(values: torch.Tensor, keys: torch.Tensor, count: int) -> float:
    """Mean of ``values`` at the ``count`` smallest ``keys``; keys tied at the cut-off
    count with their mean (no arbitrary tie-break, no full sort)."""
    cut = keys.kthvalue(count).values
    below = keys < cut
    tied = keys == cut
    missing = count - int(below.sum())
    total = values[below].sum() + missing * values[tied].mean()
    return (total / count).item()


def small_region_colour(
    prediction_ab: torch.Tensor,
    target_ab: torch.Tensor,
    *,
    saturated: float = 30.0,
    width: float = 1 / 64,
) -> tuple[float, float]:
    """``(L1(ab), predicted ÷ true chroma)`` on the truth's small saturated regions.

    Saturated pixels (true chroma above ``saturated``) belong to a small region when a
    morphological opening with a square of ``width`` × the long side removes them: objects
    and structures narrower than that (a red cup, a flower, a sign). Colour predicted at
    low resolution and upsampled loses or smears exactly these. ``*_ab`` are ``B×2×H×W``
    in CIE Lab units; ``(nan, nan)`` when the truth has no such pixels.
    """
    prediction_ab, target_ab = prediction_ab.float(), target_ab.float()
    true_chroma = torch.linalg.vector_norm(target_ab, dim=1, keepdim=True)
    small = _small_and_saturated(true_chroma, saturated, width)
    if not small.any():
        return float("nan"), float("nan")
    error = (prediction_ab - target_ab).abs().mean(dim=1, keepdim=True)[small].mean().item()
    predicted_chroma = torch.linalg.vector_norm(prediction_ab, dim=1, keepdim=True)[small]
    return error, (predicted_chroma.sum() / true_chroma[small].sum()).item()


def small_saturated_regions(
    ab: torch.Tensor, *, saturated: float = 30.0, width: float = 1 / 64
) -> torch.Tensor:
    """``B×1×H×W`` mask of the small saturated regions of ``ab`` (CIE Lab units), as
    :func:`small_region_colour` defines them."""
    chroma = torch.linalg.vector_norm(ab.float(), dim=1, keepdim=True)
    return _small_and_saturated(chroma, saturated, width)


def _small_and_saturated(chroma: torch.Tensor, saturated: float, width: float) -> torch.Tensor:
    mask = (chroma > saturated).float()
    return (mask > 0) & ~_opening(mask, width)


def _opening(mask: torch.Tensor, width: float) -> torch.Tensor:
    """Where ``mask`` (``B×1×H×W`` of 0/1) survives an opening with a square of ``width`` ×
    its long side. Computed where that square is :data:`_OPENING_SIDE` pixels (the mask
    area-resized to that scale), then brought back to full size."""
    height, width_px = mask.shape[-2:]
    scale = min(1.0, _OPENING_SIDE / (width * max(height, width_px)))
    small_size = (max(1, round(height * scale)), max(1, round(width_px * scale)))
    coarse = (F.interpolate(mask, size=small_size, mode="area") > 0.5).float()
    side = _OPENING_SIDE if scale < 1 else max(3, 2 * round(width * max(height, width_px) / 2) + 1)
    opened = _dilate(_dilate(coarse.neg(), side).neg(), side)
    if scale < 1:  # one coarse pixel more, so that large regions keep their full-size rims
        opened = _dilate(opened, 3)
    return F.interpolate(opened, size=(height, width_px), mode="nearest") > 0


def _dilate(mask: torch.Tensor, side: int) -> torch.Tensor:
    """Max over a ``side``² square centred on each pixel (separable; outside counts as -inf)."""
    rows = F.max_pool2d(mask, (side, 1), stride=1, padding=(side // 2, 0))
    return F.max_pool2d(rows, (1, side), stride=1, padding=(0, side // 2))


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


def check_rgb(rgb: torch.Tensor) -> torch.Tensor:
    """``rgb`` as float, or :class:`InvalidInputError` unless it is ``B×3×H×W``."""
    if not isinstance(rgb, torch.Tensor) or rgb.ndim != 4 or rgb.shape[1] != 3:
        shape = tuple(rgb.shape) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
        raise InvalidInputError(f"expected a B×3×H×W RGB tensor in [0, 1], got {shape}")
    return rgb.float()


def _check_pair(prediction: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, ...]:
    prediction, target = check_rgb(prediction), check_rgb(target)
    if prediction.shape != target.shape:
        raise InvalidInputError(
            f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in shape"
        )
    return prediction, target


def _torchmetrics_image():
    from torchmetrics.functional import image

    return image
