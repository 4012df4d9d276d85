"""Colour quality of colorizers on photo sets: metrics that see colour, and a picture.

For every (model, data set): L1(ab), PSNR, SSIM, colourfulness and its ratio to the
photos', the hue hit rate and the Fréchet distance on EfficientNet-Lite0 features
(``fd_effnet_lite0``, not Inception FID), at native size, with the grey output as the
reference. Results are journalled per (model, data) in ``OUT/metrics.json`` (a rerun skips
what is there), tabulated in ``OUT/results.md`` and shown in ``OUT/grid-<data>.jpg``
(greyscale | each model | truth). Example::

    python benchmarks/colour_quality.py --out docs/results/colorizer \\
        --model old=path/to/old --model new=src/pyramidrefine/weights/colorizer \\
        --data bsd100=../shared/data/photos/BSD100 \\
        --data imagenet=../shared/data/eval/imagenet-1k-sample
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.atomic import atomic_path, write_text_atomic
from pyramidrefine.evaluation import evaluate
from pyramidrefine.tasks import ColorizationTask
from pyramidrefine.tiling import resize
from pyramidrefine.training.data import validation_images

COLUMNS = [
    ("l1_ab", "L1(ab) ↓", "{:.4f}"),
    ("psnr", "PSNR ↑", "{:.2f}"),
    ("ssim", "SSIM ↑", "{:.4f}"),
    ("colourfulness", "colourfulness", "{:.1f}"),
    ("colourfulness_ratio", "colourfulness ÷ truth's ↑", "{:.2f}"),
    ("hue_hit_rate", "hue hit rate ↑", "{:.3f}"),
    ("fd_effnet_lite0", "FD (EffNet-Lite0 features) ↓", "{:.1f}"),
]


def named(value: str) -> tuple[str, str]:
    name, sep, path = value.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{value!r}: use NAME=PATH")
    return name, path


def table(results: dict[str, dict[str, float]], data: str) -> list[str]:
    """Markdown rows for one data set: the grey reference, then every model."""
    header = "| model | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [f"### {data}", "", header, "|---" * (len(COLUMNS) + 1) + "|"]
    grey = next(iter(results.values()))
    cells = [fmt.format(grey[f"{key}_grey"]) for key, _, fmt in COLUMNS]
    lines.append("| grey output | " + " | ".join(cells) + " |")
    for model, metrics in results.items():
        cells = [fmt.format(metrics[key]) for key, _, fmt in COLUMNS]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return [*lines, ""]


@torch.inference_mode()
def grid(models: dict[str, pr.CoarseToFine], images: list[torch.Tensor], path: Path) -> None:
    """JPEG: one row per photo: greyscale | every model's colours | the photo."""
    task, height, rows = ColorizationTask(), 160, []
    for rgb in images:
        L, _ = task.prepare(rgb)
        panels = [task.render(L, torch.zeros_like(L).expand(-1, 2, -1, -1))]
        panels += [task.render(L, model(L).float()) for model in models.values()]
        size = (height, round(rgb.shape[-1] * height / rgb.shape[-2]))
        rows.append(torch.cat([resize(p, size) for p in [*panels, rgb]], dim=-1))
    width = max(r.shape[-1] for r in rows)
    rows = [torch.nn.functional.pad(r, (0, width - r.shape[-1]), value=1.0) for r in rows]
    array = (torch.cat(rows, dim=-2)[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0)
    with atomic_path(path) as temporary:
        Image.fromarray(array.numpy()).save(temporary, format="JPEG", quality=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=named, action="append", required=True)
    parser.add_argument("--data", type=named, action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--max-images", type=int, default=None, help="at most this many, evenly spread"
    )
    parser.add_argument("--grid-images", type=int, default=6)
    args = parser.parse_args()
    journal = args.out / "metrics.json"
    done = json.loads(journal.read_text()) if journal.is_file() else {}
    models = {name: pr.load_colorizer(path) for name, path in args.model}
    report = ["# Colour quality", ""]
    for data, source in args.data:
        images = validation_images(source)
        if args.max_images and len(images) > args.max_images:  # evenly spread over the set
            images = images[:: math.ceil(len(images) / args.max_images)]
        for name, model in models.items():
            key = f"{data}/{name}"
            if key not in done:
                done[key] = evaluate(model, images, ColorizationTask(), feature_distance=True)
                write_text_atomic(journal, json.dumps(done, indent=1, sort_keys=True))
        report += table(
            {name: done[f"{data}/{name}"] for name in models}, f"{data} ({len(images)} photos)"
        )
        step = max(1, len(images) // args.grid_images)
        grid(models, images[::step][: args.grid_images], args.out / f"grid-{data}.jpg")
        report += [f"![{data}: greyscale | {' | '.join(models)} | truth](grid-{data}.jpg)", ""]
    write_text_atomic(args.out / "results.md", "\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
