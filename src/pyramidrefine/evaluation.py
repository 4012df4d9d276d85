"""Score a model of any task on a set of photos: L1, SSIM, PSNR, vs the task's reference.

Random degradations (e.g. noise) are drawn from a generator seeded by ``seed`` and the
image's position, so that every evaluation of the same images sees the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from einops import rearrange
from PIL import Image

from .atomic import atomic_path
from .feature_distance import FEATURE_NAME, FeatureFrechetDistance
from .metrics import l1, psnr, ssim
from .progress import track
from .tasks import ColorizationTask, Task
from .tiling import resize

Predictor = Callable[[torch.Tensor], torch.Tensor]


@torch.inference_mode()
def evaluate(
    model: Predictor,
    images: Iterable[torch.Tensor],
    task: Task,
    *,
    autocast_dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    feature_distance: bool = False,
    progress: bool = True,
) -> dict[str, float]:
    """Mean metrics over ``images`` (each ``1×3×H×W`` in [0, 1], any size).

    ``l1_<task.target_name>`` is on the task's normalised targets; ``ssim`` and ``psnr`` on
    the rendered RGB against the photo; the task adds its own (colorization: colourfulness,
    its ratio to the photos', hue hit rate); ``*_<task.reference_name>`` are the same
    metrics for the task's reference output, the numbers a model has to beat.
    ``feature_distance``: also the Fréchet distance on EfficientNet-Lite0 features,
    ``fd_effnet_lite0`` (needs the ``pretrained`` extra; not Inception FID).
    """
    device = torch.device(device) if device is not None else _device(model)
    model_totals: dict[str, float] = {}
    reference_totals: dict[str, float] = {}
    distances = (FeatureFrechetDistance(), FeatureFrechetDistance()) if feature_distance else None
    count = 0
    for index, rgb in enumerate(track(images, "evaluate", enabled=progress)):
        inputs, targets = prepare(task, rgb.to(device), seed, index)
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            prediction = model(inputs).float()
        truth = task.render(inputs, targets)
        for totals, outputs, distance in zip(
            (model_totals, reference_totals),
            (prediction, task.reference(inputs)),
            distances or (None, None),
            strict=True,
        ):
            rendered = task.render(inputs, outputs)
            for key, value in _scores(task, rendered, truth, outputs, targets).items():
                totals[key] = totals.get(key, 0.0) + value
            if distance is not None:
                distance.update(rendered, truth)
        count += 1
    results = {}
    for totals, distance, suffix in zip(
        (model_totals, reference_totals),
        distances or (None, None),
        ("", f"_{task.reference_name}"),
        strict=True,
    ):
        means = task.summarize({key: value / max(count, 1) for key, value in totals.items()})
        if distance is not None and count >= 2:
            means[FEATURE_NAME] = distance.compute()
        results |= {f"{key}{suffix}": value for key, value in means.items()}
    return results


def prepare(task: Task, rgb: torch.Tensor, seed: int, index: int) -> tuple[torch.Tensor, ...]:
    """``task.prepare`` of image ``index``, its random degradation drawn from ``seed + index``
    (so that every evaluation and comparison grid of the same images sees the same inputs)."""
    return task.prepare(rgb, torch.Generator().manual_seed(seed + index))


def _scores(task: Task, rgb, truth_rgb, outputs, targets) -> dict[str, float]:
    return {
        f"l1_{task.target_name}": float(l1(outputs, targets)),
        "ssim": float(ssim(rgb, truth_rgb)),
        "psnr": float(psnr(rgb, truth_rgb)),
        **task.extra_scores(rgb, truth_rgb, outputs, targets),
    }


@torch.inference_mode()
def save_comparison_grid(
    model: Predictor,
    images: list[torch.Tensor],
    path,
    *,
    task: Task | None = None,
    height: int = 192,
    seed: int = 0,
) -> None:
    """PNG, one row per image: reference (grey input, noisy input…) | prediction | truth.

    ``task`` defaults to colorization. Written atomically.
    """
    task = task or ColorizationTask()
    device = _device(model)
    rows = []
    for index, rgb in enumerate(images):
        rgb = rgb.to(device)
        size = (height, max(1, round(rgb.shape[-1] * height / rgb.shape[-2])))
        inputs, _ = prepare(task, rgb, seed, index)
        prediction = model(inputs).float()
        panels = [
            task.render(inputs, task.reference(inputs)),
            task.render(inputs, prediction),
            rgb,
        ]
        rows.append(torch.cat([resize(p, size) for p in panels], dim=-1))
    width = max(r.shape[-1] for r in rows)
    rows = [torch.nn.functional.pad(r, (0, width - r.shape[-1]), value=1.0) for r in rows]
    grid = rearrange(torch.cat(rows, dim=-2)[0].clamp(0, 1), "c h w -> h w c")
    with atomic_path(path) as temporary:
        Image.fromarray((grid * 255).round().byte().cpu().numpy()).save(temporary, format="PNG")


def _device(model: Predictor) -> torch.device:
    parameters = getattr(model, "parameters", None)
    if parameters is None:
        return torch.device("cpu")
    return next(parameters()).device
