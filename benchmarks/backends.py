"""Inference backends on the CPU: the shipped colorizer's generator and whole colorize, in
torch (unfolded / BatchNorm folded, NCHW / channels_last) and in onnxruntime.

Every row runs in this one process, one after the other, after one untimed warm-up; the
time is the minimum of ``--repeats`` runs (on a machine shared with other work the
minimum is the least disturbed run). Example::

    python benchmarks/backends.py --size 1024 768 --threads 1 --out backends.json
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable

import numpy as np
import torch

import pyramidrefine as pr
from pyramidrefine import backends, inference, profiling
from pyramidrefine.fusion import fold_pyramid


def fastest(run: Callable[[], object], repeats: int) -> float:
    """Minimum wall time of ``repeats`` calls of ``run`` after one untimed call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def generator_rows(width: int, height: int, repeats: int) -> dict[str, float]:
    """One generator pass at ``width×height``: torch variants and onnxruntime."""
    model = pr.load_model()
    folded = fold_pyramid(model)
    x = torch.rand(1, model.generator_in_channels, height, width) * 2 - 1
    rows = {}
    for name, source in (("unfolded", model), ("folded", folded)):
        for layout in ("NCHW", "channels_last"):
            generator = copy.deepcopy(source.generators[0])
            if layout == "channels_last":
                generator = generator.to(memory_format=torch.channels_last)
            with torch.inference_mode():
                rows[f"torch fp32, {name}, {layout}"] = fastest(lambda g=generator: g(x), repeats)
    onnx = backends.onnx_pyramid(folded).generators[0]
    rows["onnxruntime fp32"] = fastest(lambda: onnx(x), repeats)
    return rows


def colorize_rows(width: int, height: int, repeats: int) -> dict[str, float]:
    """A whole ``Colorizer`` call on a grey ``width×height`` photo, per backend."""
    rng = np.random.default_rng(0)
    photo = (rng.random((height, width)) * 255).astype(np.uint8)
    rows = {}
    fold = inference.fold_pyramid
    try:
        inference.fold_pyramid = copy.deepcopy  # the pipeline as it was: nothing folded
        unfolded = pr.Colorizer(precision="fp32", backend="torch")
    finally:
        inference.fold_pyramid = fold
    rows["Colorizer fp32, torch, unfolded"] = fastest(lambda: unfolded(photo), repeats)
    for backend in ("torch", "onnxruntime"):
        colorizer = pr.Colorizer(precision="fp32", backend=backend)
        rows[f"Colorizer fp32, {backend}"] = fastest(lambda c=colorizer: c(photo), repeats)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=[1024, 768], metavar=("W", "H"))
    parser.add_argument("--threads", type=int, help="torch and onnxruntime threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = args.size
    rows = generator_rows(width, height, args.repeats) | colorize_rows(width, height, args.repeats)
    result = {
        "size": [width, height],
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "machine": profiling.machine_info(),
        "seconds": rows,
    }
    for name, seconds in rows.items():
        print(f"| {name} | {seconds:.3f} |")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=2, default=str)


if __name__ == "__main__":
    main()
