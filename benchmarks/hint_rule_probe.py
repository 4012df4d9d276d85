"""Probe the hint-spreading rule on training photos: cached predictions, constants varied.

``benchmarks/hints.py`` measures the shipped rule through the public API (about 20 min a
run); choosing the rule's constants needs many quick runs on photos that are not the
benchmark's. This caches a guide-free colorizer's hint-free predictions for an evenly
spread sample of each ``--data`` folder (with the hints that ``benchmarks/hints.py``
would take: at random and at the most saturated pixels, the same seeds), then reports
L1(ab) ÷ the hint-free L1(ab) with ``--count`` hints for the rule of
``pyramidrefine.hint_propagation`` as it is and with each ``--try`` of its constants
changed. Example (the seventh session's footing, 2026-12-04)::

    python benchmarks/hint_rule_probe.py --cache /tmp/probe.pt \\
        --data bsds=../shared/data/photos/BSDS500:40 \\
        --data caltech=../shared/data/photos/caltech101:60 \\
        --try "LIKENESS_LIGHTNESS=20 LIKENESS_CHROMA=12" --try "LIKENESS_LARGEST=25"

Only differences between rules mean much here: the same rule reads other ratios on other
photos (docs/hints.md, "How the spreading rule was chosen").
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from hints import TASK, grey_of, hint_at, random_points, saturated_points
from PIL import Image
from run import image_files

import pyramidrefine as pr
from pyramidrefine import hint_propagation
from pyramidrefine.atomic import atomic_path
from pyramidrefine.hints import parse_hints, render_guide
from pyramidrefine.progress import track

SAMPLINGS = ("random", "saturated")
LARGEST_COUNT = 20


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line, checked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="a colorizer without guide channels")
    parser.add_argument("--data", action="append", required=True, help="NAME=FOLDER:COUNT")
    parser.add_argument("--cache", type=Path, required=True, help="predictions (torch file)")
    parser.add_argument("--count", type=int, default=10, help="hints a photo")
    parser.add_argument(
        "--try", dest="tries", action="append", default=[], help='"CONSTANT=VALUE ..."'
    )
    args = parser.parse_args(argv)
    if not 1 <= args.count <= LARGEST_COUNT:
        parser.error(f"--count {args.count}: give 1..{LARGEST_COUNT}")
    args.tries = [changes(text, parser) for text in args.tries]
    return args


def changes(text: str, parser: argparse.ArgumentParser) -> dict[str, float]:
    """``"NAME=VALUE ..."`` as constants of ``hint_propagation`` to set, checked."""
    result = {}
    for item in text.split():
        name, _, value = item.partition("=")
        if not name.isupper() or not hasattr(hint_propagation, name):
            parser.error(f"--try {item!r}: not a constant of pyramidrefine.hint_propagation")
        try:
            result[name] = float(value)
        except ValueError:
            parser.error(f"--try {item!r}: give NAME=NUMBER")
    return result


def sample(folder: str, count: int) -> list[torch.Tensor]:
    """``count`` colour photos of ``folder`` (``1×3×H×W`` in [0, 1]), evenly spread over
    its sorted files."""
    files = [path for path, _ in image_files(Path(folder))]
    step = max(1, len(files) // count)
    photos = []
    for path in files[::step][:count]:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), np.float32) / 255.0
        photos.append(torch.from_numpy(pixels).permute(2, 0, 1)[None].contiguous())
    return photos


def build_cache(args: argparse.Namespace) -> dict[str, list[dict]]:
    """Every ``--data`` set's photos: normalised L, the hint-free prediction, the true ab
    and the hints at their random and most saturated pixels."""
    colorizer = pr.Colorizer(args.model)
    cache = {}
    for spec in args.data:
        name, _, rest = spec.partition("=")
        folder, _, count = rest.rpartition(":")
        rows = []
        for index, rgb in enumerate(track(sample(folder, int(count)), name)):
            _, ab = TASK.prepare(rgb)
            with torch.inference_mode():
                inputs = TASK.inputs(grey_of(rgb))
                prediction = colorizer.runner(inputs)
            rng = np.random.default_rng([0, index])
            radius = max(1, round(0.05 * max(rgb.shape[-2:])))
            points = {
                "random": random_points(ab, LARGEST_COUNT, rng),
                "saturated": saturated_points(ab, LARGEST_COUNT, radius),
            }
            hints = {key: [hint_at(rgb, p, 1) for p in value] for key, value in points.items()}
            rows.append({"inputs": inputs, "prediction": prediction, "ab": ab, "hints": hints})
        cache[name] = rows
    with atomic_path(args.cache) as temporary:
        torch.save(cache, temporary)
    return cache


def ratios(cache: dict[str, list[dict]], count: int) -> dict[str, float]:
    """L1(ab) with ``count`` hints ÷ hint-free, per set and sampling."""
    result = {}
    for name, rows in cache.items():
        free = np.mean([float((r["prediction"] - r["ab"]).abs().mean()) for r in rows])
        for sampling in SAMPLINGS:
            errors = []
            for row in rows:
                height, width = row["inputs"].shape[-2:]
                hints = parse_hints(row["hints"][sampling][:count], width, height)
                guide = torch.from_numpy(render_guide(hints, height, width))[None]
                hinted = hint_propagation.propagate_hints(row["inputs"], row["prediction"], guide)
                errors.append(float((hinted - row["ab"]).abs().mean()))
            result[f"{name} {sampling}"] = float(np.mean(errors) / free)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Cache (once), then one line of ratios for the rule as shipped and for each try."""
    args = parse_args(argv)
    # weights_only: tensors, lists and strings only, no code even from a stray file
    cached = args.cache.exists()
    cache = torch.load(args.cache, weights_only=True) if cached else build_cache(args)
    shipped = {name: getattr(hint_propagation, name) for name in dir(hint_propagation)}
    for change in [{}, *args.tries]:
        for name, value in change.items():
            setattr(hint_propagation, name, value)
        line = " ".join(f"{key}={value:.3f}" for key, value in ratios(cache, args.count).items())
        print(f"{' '.join(f'{k}={v:g}' for k, v in change.items()) or 'shipped'}: {line}")
        for name in change:
            setattr(hint_propagation, name, shipped[name])


if __name__ == "__main__":
    main()
