"""One measurement, run by ``run.py`` in a fresh process: :func:`run_spec`.

``run.py`` runs every (method, size), every generator efficiency setting and the matmul
peak in a process of its own (forked from it, with torch and this module imported), so
that every peak memory is that measurement's alone. Spec kinds:

- ``method``: time, memory, FLOPs and quality of one inference method at one size;
- ``generator``: achieved GFLOP/s of the bare generator at one precision and memory layout;
- ``matmul``: this machine's matmul GFLOP/s in fp32 and bf16.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from pyramidrefine import CoarseToFine, apply_method, metrics, profiling
from pyramidrefine.atomic import atomic_path
from pyramidrefine.choices import METHOD_TABLE
from pyramidrefine.geometry import scale_long_side
from pyramidrefine.hardware import autocast
from pyramidrefine.images import read_image
from pyramidrefine.tasks import ColorizationTask
from pyramidrefine.tasks.colorization import AB_SCALE
from pyramidrefine.tiling import tile_borders

Borders = tuple[list[int], list[int]]  # inner rows and columns, as metrics.seam_index takes
Predictor = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Variant:
    """A benchmarked method: the library method, its weights and its tiling."""

    method: str  # a name of pyramidrefine.METHODS
    weights: str  # "baseline" or "pyramid": the model trained for it
    tiling: str | None = None  # "patch" or "pyramid": which tile setting it uses
    blend: bool = True  # overlap blending of the tiles


VARIANTS: dict[str, Variant] = {
    "baseline": Variant("baseline", "baseline"),
    "patchwise": Variant("patchwise", "baseline", tiling="patch", blend=False),
    "patchwise-blend": Variant("patchwise", "baseline", tiling="patch"),
    "lowres": Variant("lowres", "baseline"),
    "lowres-guided": Variant("lowres-guided", "baseline"),
    "pyramid": Variant("pyramid", "pyramid"),
    "pyramid-tiled": Variant("pyramid-tiled", "pyramid", tiling="pyramid"),
}
# Every method of the library's table is benchmarked, and tiled only where it takes a tile.
assert {v.method for v in VARIANTS.values()} == set(METHOD_TABLE)
assert all(v.tiling is None or "tile" in METHOD_TABLE[v.method].options for v in VARIANTS.values())


def method_options(name: str, settings: dict[str, int]) -> dict[str, int]:
    """``apply_method`` keyword arguments of variant ``name`` under the run's settings."""
    variant = VARIANTS[name]
    if variant.tiling is not None:
        tile = settings[f"{variant.tiling}_tile"]
        overlap = min(settings["overlap"], tile // 4) if variant.blend else 0
        return {"tile": tile, "overlap": overlap}
    if variant.method.startswith("lowres"):
        return {"base_size": settings["lowres_size"]}
    return {}


def seam_borders(
    name: str, settings: dict[str, int], height: int, width: int
) -> tuple[Borders, bool]:
    """Borders to measure seams at, and whether they are the method's own tile borders.

    A method whose final resolution runs tile by tile is measured at its own borders; any
    other at the borders the patchwise method would use (a control).
    """
    options = method_options(name, settings)
    if "tile" in options and max(height, width) > options["tile"]:
        return tile_borders(height, width, options["tile"], options["overlap"]), True
    return tile_borders(height, width, settings["patch_tile"], 0), False


def load_rgb(path: str, long_side: int | None = None) -> torch.Tensor:
    """``1×3×H×W`` image in [0, 1], resized (Lanczos) to a long side of ``long_side``."""
    image = read_image(path).convert("RGB")
    size = scale_long_side(*image.size, long_side or max(image.size))
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1)[None].contiguous()


def save_png(rgb: torch.Tensor, path: str) -> None:
    """Write a ``1×3×H×W`` image in [0, 1] as an 8-bit PNG, atomically."""
    pixels = (rgb[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    with atomic_path(path) as temporary:
        Image.fromarray(pixels).save(temporary, format="PNG")


def quality(
    task: ColorizationTask, rgb: torch.Tensor, ab: torch.Tensor, borders: Borders
) -> dict[str, float]:
    """L1 on ab, SSIM/PSNR on RGB, colourfulness of prediction and truth, seam index,
    colour bleeding of prediction and truth, and L1(ab) and chroma kept on the truth's small
    saturated regions (``nan`` where a photo has none)."""
    L, true_ab = task.prepare(rgb)
    predicted = task.render(L, ab)
    rows, cols = borders
    small_l1, small_chroma = metrics.small_region_colour(ab * AB_SCALE, true_ab * AB_SCALE)
    return {
        "l1_ab": metrics.l1(ab, true_ab),
        "ssim": metrics.ssim(predicted, rgb),
        "psnr": metrics.psnr(predicted, rgb),
        "colourfulness": metrics.colourfulness(predicted),
        "colourfulness_true": metrics.colourfulness(rgb),
        "seam_index": metrics.seam_index(ab, rows, cols) if rows or cols else float("nan"),
        "bleeding": metrics.colour_bleeding(ab, L),
        "bleeding_true": metrics.colour_bleeding(true_ab, L),
        "small_l1_ab": small_l1 / AB_SCALE,
        "small_chroma_ratio": small_chroma,
    }


@torch.inference_mode()
def measure_method(spec: dict[str, Any]) -> dict[str, Any]:
    """Time (median after a warm-up), peak memory, FLOPs and mean quality per data set."""
    device, task = spec["device"], ColorizationTask()
    model = CoarseToFine.from_pretrained(spec["model"]).to(device).eval()
    predict = apply_method(model, VARIANTS[spec["method"]].method, **spec["options"])
    images = [(dataset, load_rgb(path, spec["size"])) for dataset, path in spec["images"]]
    height, width = images[0][1].shape[-2:]
    L = task.prepare(images[0][1])[0].to(device)
    outputs: list[torch.Tensor] = []

    def forward() -> None:
        outputs.clear()  # free the previous output before the next forward
        outputs.append(predict(L))

    with autocast(device, spec["precision"]):
        flops, _ = profiling.count_flops(predict, L)  # also the warm-up
        with profiling.PeakMemory(device) as memory:
            seconds = profiling.median_seconds(
                forward, repeats=spec["repeats"], warmup=0, device=device
            )
    first_ab = outputs[0].float().cpu()
    return {
        "height": height,
        "width": width,
        "seconds": seconds,
        "peak_mb": memory.peak_mb,
        "forward_mb": memory.increase_mb,
        "memory_exact": memory.exact,
        "gflop": flops / 1e9,
        "gflop_per_s": flops / 1e9 / seconds,
        "seam_own_borders": seam_borders(spec["method"], spec["settings"], height, width)[1],
        "quality": mean_quality(spec, task, predict, images, first_ab),
    }


def mean_quality(
    spec: dict[str, Any],
    task: ColorizationTask,
    predict: Predictor,
    images: list[tuple[str, torch.Tensor]],
    first_ab: torch.Tensor,
) -> dict[str, dict[str, float]]:
    """Quality averaged per data set over the images where it is defined (not ``nan``); the
    first image's prediction is ``first_ab``; the rendered prediction of image
    ``spec["grid_index"]`` is saved for the grid if asked."""
    values: dict[str, dict[str, list[float]]] = {}
    for index, (dataset, rgb) in enumerate(images):
        ab = first_ab if index == 0 else _predict(spec, predict, task.prepare(rgb)[0])
        borders, _ = seam_borders(spec["method"], spec["settings"], *rgb.shape[-2:])
        per_key = values.setdefault(dataset, {})
        for key, value in quality(task, rgb, ab, borders).items():
            per_key.setdefault(key, []).append(value)
        if index == spec.get("grid_index", 0) and spec.get("save_prediction"):
            save_png(task.render(task.prepare(rgb)[0], ab), spec["save_prediction"])
    return {
        dataset: {"images": len(next(iter(per_key.values())))}
        | {key: _finite_mean(found) for key, found in per_key.items()}
        for dataset, per_key in values.items()
    }


def _finite_mean(values: list[float]) -> float:
    finite = [value for value in values if math.isfinite(value)]
    return sum(finite) / len(finite) if finite else float("nan")


def _predict(spec: dict[str, Any], predict: Predictor, L: torch.Tensor) -> torch.Tensor:
    with autocast(spec["device"], spec["precision"]):
        return predict(L.to(spec["device"])).float().cpu()


@torch.inference_mode()
def measure_generator(spec: dict[str, Any]) -> dict[str, Any]:
    """Achieved GFLOP/s of one generator pass on a ``size×size`` input."""
    device, size = spec["device"], spec["size"]
    model = CoarseToFine.from_pretrained(spec["model"]).to(device).eval()
    generator = model.generator_for(0)
    x = torch.randn(1, model.generator_in_channels, size, size, device=device)
    if spec["channels_last"]:
        generator = generator.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with autocast(device, spec["precision"]):
        flops, _ = profiling.count_flops(generator, x)  # also the warm-up
        seconds = profiling.median_seconds(
            lambda: generator(x), repeats=spec["repeats"], warmup=0, device=device
        )
    return {"gflop": flops / 1e9, "seconds": seconds, "gflop_per_s": flops / 1e9 / seconds}


def measure_matmul(spec: dict[str, Any]) -> dict[str, float]:
    """This machine's matmul GFLOP/s per precision."""
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    return {
        precision: profiling.matmul_gflops(
            dtypes[precision], size=spec["size"], repeats=spec["repeats"], device=spec["device"]
        )
        for precision in spec["precisions"]
    }


KINDS = {"method": measure_method, "generator": measure_generator, "matmul": measure_matmul}


def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the measurement ``spec["kind"]`` (in a process of its own)."""
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    return KINDS[spec["kind"]](spec)
