"""Copy a trained colorizer into the package as the default model (fp16 safetensors + config).

python scripts/ship_default_colorizer.py runs/colorize-pyramid/model
"""

from __future__ import annotations

import argparse

import torch

import pyramidrefine as pr
from pyramidrefine.pretrained import default_colorizer_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="folder written by save_pretrained (a run's model/)")
    args = parser.parse_args()
    model = pr.CoarseToFine.from_pretrained(args.model).eval()
    shipped = default_colorizer_dir()
    pr.CoarseToFine.from_pretrained(args.model).half().save_pretrained(shipped)  # half the size
    (shipped / "README.md").unlink(missing_ok=True)  # the model card lives in docs/
    reloaded = pr.load_colorizer()
    probe = torch.rand(1, 1, 96, 128) * 2 - 1
    with torch.no_grad():
        error = (reloaded(probe) - model(probe)).abs().max().item()
    size = sum(p.stat().st_size for p in shipped.iterdir()) / 1e6
    print(f"shipped {args.model} to {shipped} ({size:.1f} MB), fp16 max output change {error:.2e}")


if __name__ == "__main__":
    main()
