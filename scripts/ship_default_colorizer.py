"""Store a trained colorizer as fp16 safetensors + config (default: the package's default model).

python scripts/ship_default_colorizer.py runs/colorize-pyramid/model
python scripts/ship_default_colorizer.py runs/colorize-baseline/model \\
    --to benchmarks/models/colorize-baseline      # the benchmark's baseline, stored alike
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import pyramidrefine as pr
from pyramidrefine.pretrained import default_colorizer_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="folder written by save_pretrained (a run's model/)")
    parser.add_argument("--to", type=Path, help="target folder (default: the package's)")
    args = parser.parse_args()
    model = pr.CoarseToFine.from_pretrained(args.model).eval()
    shipped = args.to or default_colorizer_dir()
    pr.CoarseToFine.from_pretrained(args.model).half().save_pretrained(shipped)  # half the size
    (shipped / "README.md").unlink(missing_ok=True)  # the model card lives in docs/
    reloaded = pr.load_colorizer(shipped)
    probe = torch.rand(1, 1, 96, 128) * 2 - 1
    with torch.no_grad():
        error = (reloaded(probe) - model(probe)).abs().max().item()
    size = sum(p.stat().st_size for p in shipped.iterdir()) / 1e6
    print(f"shipped {args.model} to {shipped} ({size:.1f} MB), fp16 max output change {error:.2e}")


if __name__ == "__main__":
    main()
