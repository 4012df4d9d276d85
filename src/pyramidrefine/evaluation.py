"""Score a colorizer on a set of photos: L1(ab), SSIM, PSNR, colourfulness, vs grey output."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from einops import rearrange
from PIL import Image

from .atomic import atomic_path
from .metrics import colourfulness, l1, psnr, ssim
from .pyramid import CoarseToFine
from .tasks import ColorizationTask
from .tiling import resize


@torch.inference_mode()
def evaluate_colorizer(
    model: CoarseToFine,
    images: Iterable[torch.Tensor],
    *,
    autocast_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Mean metrics over ``images`` (each ``1×3×H×W`` in [0, 1], any size).

    ``l1_ab`` is on normalised ab (ab/110); ``*_grey`` are the same metrics for the grey
    prediction (ab = 0), the baseline a colorizer has to beat.
    """
    task = ColorizationTask()
    device = next(model.parameters()).device
    totals: dict[str, float] = {}
    count = 0
    for rgb in images:
        rgb = rgb.to(device)
        L, ab = task.prepare(rgb)
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            prediction = model(L).float()
        scores = _scores(task, L, ab, prediction)
        scores |= {f"{k}_grey": v for k, v in _scores(task, L, ab, torch.zeros_like(ab)).items()}
        for key, value in scores.items():
            totals[key] = totals.get(key, 0.0) + value
        count += 1
    return {key: value / max(count, 1) for key, value in totals.items()}


def _scores(task: ColorizationTask, L, ab, prediction) -> dict[str, float]:
    rgb_true, rgb_pred = task.render(L, ab), task.render(L, prediction)
    return {
        "l1_ab": float(l1(prediction, ab)),
        "ssim": float(ssim(rgb_pred, rgb_true)),
        "psnr": float(psnr(rgb_pred, rgb_true)),
        "colourfulness": float(colourfulness(rgb_pred)),
    }


@torch.inference_mode()
def save_comparison_grid(
    model: CoarseToFine, images: list[torch.Tensor], path, *, height: int = 192
) -> None:
    """PNG with one row per image: grey input | prediction | truth (atomic write)."""
    task = ColorizationTask()
    device = next(model.parameters()).device
    rows = []
    for rgb in images:
        rgb = rgb.to(device)
        size = (height, max(1, round(rgb.shape[-1] * height / rgb.shape[-2])))
        L, ab = task.prepare(rgb)
        prediction = model(L).float()
        panels = [task.render(L, torch.zeros_like(ab)), task.render(L, prediction), rgb]
        rows.append(torch.cat([resize(p, size) for p in panels], dim=-1))
    width = max(r.shape[-1] for r in rows)
    rows = [torch.nn.functional.pad(r, (0, width - r.shape[-1]), value=1.0) for r in rows]
    grid = rearrange(torch.cat(rows, dim=-2)[0].clamp(0, 1), "c h w -> h w c")
    with atomic_path(path) as temporary:
        Image.fromarray((grid * 255).round().byte().cpu().numpy()).save(temporary, format="PNG")
