"""Scale consistency of colorizers: the same photo coloured at several long sides.

For every (model, method) and photo: colour the greyscale photo at each long side of
``--sizes``, bring every result to the smallest size and measure the mean ab distance to
the smallest size's result (:func:`pyramidrefine.colour_drift.scale_drift`), the
colourfulness per size, and the area whose colour departs from the ``lowres`` method's
prediction of the same model at the same size by more than 10 Lab units
(:func:`pyramidrefine.colour_drift.coarse_departure`: blobs, casts and lines painted by fine
levels). Photos are the first ``--max-photos`` of ``--photos`` whose long side reaches the
largest size (only ever downscaled). Results go to ``OUT/scale-consistency.json``, a table
to ``OUT/scale-consistency.md`` and a picture per photo to ``OUT/scale-<photo>.jpg`` (one row
per method, one column per size, each result shown at the smallest size). Example::

    python benchmarks/scale_consistency.py --out docs/results/scale-consistency \\
        --photos ../shared/data/hires --sizes 512 1024 2048 4096 --max-photos 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import kornia
import numpy as np
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.atomic import atomic_path, write_text_atomic
from pyramidrefine.colour_drift import coarse_departure, scale_drift
from pyramidrefine.geometry import scale_long_side
from pyramidrefine.images import read_image
from pyramidrefine.metrics import colourfulness

REFERENCE_METHOD = "lowres"
TILE = 256


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="results folder")
    parser.add_argument("--photos", type=Path, required=True, help="folder of colour photos")
    parser.add_argument("--model", default="default", help="model name, folder or Hub id")
    parser.add_argument("--methods", nargs="+", default=["pyramid", "baseline", "lowres"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024, 2048, 4096])
    parser.add_argument("--max-photos", type=int, default=5)
    parser.add_argument("--precision", default="auto")
    return parser.parse_args(argv)


def photos_reaching(folder: Path, side: int, count: int) -> list[Path]:
    """The first ``count`` photos (sorted) whose long side is at least ``side``."""
    chosen = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
            continue
        with Image.open(path) as image:
            if max(image.size) >= side:
                chosen.append(path)
        if len(chosen) == count:
            break
    return chosen


def grey_at(photo: Image.Image, side: int) -> Image.Image:
    """``photo`` shrunk to a long side of ``side`` (Lanczos), made greyscale."""
    size = scale_long_side(*photo.size, side)
    return photo.resize(size, Image.Resampling.LANCZOS).convert("L")


def ab_of(image: Image.Image) -> torch.Tensor:
    """``1×2×H×W`` ab (Lab units) of an RGB picture."""
    return kornia.color.rgb_to_lab(rgb_of(image))[:, 1:]


def rgb_of(image: Image.Image) -> torch.Tensor:
    """``1×3×H×W`` RGB in [0, 1] of a picture."""
    array = np.array(image.convert("RGB"))
    return torch.from_numpy(array).float().permute(2, 0, 1)[None] / 255


def measure_photo(
    colorizers: dict[str, pr.Colorizer], photo_path: Path, sizes: list[int]
) -> tuple[dict[str, dict], dict[str, list[Image.Image]]]:
    """Per method: drift and colourfulness per size, departure from lowres, seconds."""
    photo = read_image(photo_path)
    outputs: dict[str, list[Image.Image]] = {name: [] for name in colorizers}
    seconds: dict[str, list[float]] = {name: [] for name in colorizers}
    for side in sizes:
        grey = grey_at(photo, side)
        for name, colorizer in colorizers.items():
            start = time.perf_counter()
            outputs[name].append(colorizer(grey))
            seconds[name].append(time.perf_counter() - start)
    results = {}
    for name, images in outputs.items():
        smallest = ab_of(images[0])
        reference = [ab_of(image) for image in outputs[REFERENCE_METHOD]]
        results[name] = {
            "drift": [scale_drift(smallest, ab_of(image)) for image in images[1:]],
            "colourfulness": [colourfulness(rgb_of(image)) for image in images],
            "departure": [
                coarse_departure(ab_of(image), coarse)
                for image, coarse in zip(images, reference, strict=True)
            ],
            "seconds": seconds[name],
        }
    return results, outputs


def picture(outputs: dict[str, list[Image.Image]], path: Path) -> None:
    """One row per method, one column per size, every result at the smallest size."""
    first = next(iter(outputs.values()))[0]
    width, height = first.size
    rows = len(outputs)
    columns = len(next(iter(outputs.values())))
    sheet = Image.new("RGB", (columns * width, rows * height), "white")
    for row, images in enumerate(outputs.values()):
        for column, image in enumerate(images):
            small = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
            sheet.paste(small, (column * width, row * height))
    with atomic_path(path) as temporary:
        sheet.save(temporary, format="JPEG", quality=88)


def table(summary: dict[str, dict], sizes: list[int]) -> list[str]:
    """Markdown: per method, drift and colourfulness per size, departure, seconds."""
    larger = sizes[1:]
    header = ["method"] + [f"drift {s}" for s in larger] + [f"colourf. {s}" for s in sizes]
    header += [f"departure {s}" for s in sizes] + [f"s at {sizes[-1]}"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for method, values in summary.items():
        cells = [f"{v:.2f}" for v in values["drift"]]
        cells += [f"{v:.1f}" for v in values["colourfulness"]]
        cells += [f"{100 * v:.1f} %" for v in values["departure"]]
        cells.append(f"{values['seconds'][-1]:.1f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = sorted(args.sizes)
    methods = list(dict.fromkeys([*args.methods, REFERENCE_METHOD]))
    colorizers = {
        method: pr.Colorizer(args.model, method=method, precision=args.precision)
        for method in methods
    }
    photos = photos_reaching(args.photos, sizes[-1], args.max_photos)
    if not photos:
        raise SystemExit(f"{args.photos}: no photo reaches a long side of {sizes[-1]}")
    args.out.mkdir(parents=True, exist_ok=True)
    per_photo = {}
    for index, path in enumerate(photos, 1):
        print(f"[{index}/{len(photos)}] {path.name}", flush=True)
        per_photo[path.name], outputs = measure_photo(colorizers, path, sizes)
        picture(outputs, args.out / f"scale-{path.stem}.jpg")
    summary = {
        method: {
            key: [statistics.fmean(values) for values in zip(*columns, strict=True)]
            for key, columns in (
                (key, [per_photo[name][method][key] for name in per_photo])
                for key in ("drift", "colourfulness", "departure", "seconds")
            )
        }
        for method in methods
    }
    record = {"model": args.model, "sizes": sizes, "photos": per_photo, "mean": summary}
    write_text_atomic(args.out / "scale-consistency.json", json.dumps(record, indent=1))
    lines = [
        f"# Scale consistency: {args.model}, {len(photos)} photos of {args.photos.name}",
        "",
        f"drift: mean ab distance (Lab units) to the {sizes[0]} px result; departure: area "
        f"whose colour departs from `{REFERENCE_METHOD}` by more than 10 Lab units.",
        "",
        *table(summary, sizes),
    ]
    write_text_atomic(args.out / "scale-consistency.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
