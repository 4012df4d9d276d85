"""Training images/s of the baseline and the pyramid configs, fp32 vs bf16, in one run.

Each (config, precision) trains a few steps in its own subprocess on synthetic photos, so
the numbers measure the model and the scheme, not disk or decoding. Example::

    python benchmarks/train_throughput.py --steps 8
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CONFIGS = ["configs/colorize-baseline.yaml", "configs/colorize-pyramid.yaml"]


def make_photos(folder: Path, count: int = 16, size: int = 640) -> None:
    """Smooth random colour images, larger than every config's crop."""
    rng = np.random.default_rng(0)
    for i in range(count):
        small = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((size, size), Image.BICUBIC).save(folder / f"{i}.png")


def images_per_second(metrics_csv: Path, skip: int) -> float:
    """Mean of the logged ``images_per_s`` after the first ``skip`` (warm-up) steps."""
    with metrics_csv.open() as file:
        rows = [r for r in csv.DictReader(file) if r["name"] == "images_per_s"]
    values = [float(r["value"]) for r in rows if int(r["step"]) > skip]
    return values[-1] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--precisions", nargs="+", default=["no", "bf16"])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        photos = Path(scratch) / "photos"
        photos.mkdir()
        make_photos(photos)
        for config in CONFIGS:
            for precision in args.precisions:
                run = Path(scratch) / f"{Path(config).stem}-{precision}"
                command = [
                    sys.executable,
                    "-m",
                    "pyramidrefine.cli",
                    "train",
                    "--config",
                    config,
                    f"output_dir={run}",
                    f"data.train={photos}",
                    "data.val=null",
                    "data.val_fraction=0",
                    f"max_steps={args.steps}",
                    "log_every=1",
                    f"checkpoint_every={args.steps * 10}",
                    f"validate_every={args.steps * 10}",
                    f"mixed_precision={precision}",
                    "data.num_workers=0",
                ]
                subprocess.run(command, check=True, capture_output=True)
                rate = images_per_second(run / "metrics.csv", skip=2)
                results.append((Path(config).stem, precision, rate))
                print(f"{Path(config).stem:<22} {precision:<5} {rate:6.2f} images/s", flush=True)
    print("\n| config | precision | images/s |\n|---|---|---|")
    for name, precision, rate in results:
        print(f"| {name} | {precision} | {rate:.2f} |")


if __name__ == "__main__":
    main()
