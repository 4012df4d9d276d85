"""Colorize a large photo with pyramid-tiled inference; print the time and peak memory.

    python examples/colorize_highres.py examples/photos/rocket.jpg --size 4096 --model DIR
    python examples/colorize_highres.py --smoke      # random weights, small image (CI)

The photo is enlarged to ``--size`` (long side) to play a high-resolution scan. The
pyramid sees the whole image at its coarsest level; levels larger than ``--tile`` run tile
by tile, so memory stays bounded whatever the size.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch
from PIL import Image

import pyramidrefine as pr

HERE = Path(__file__).parent


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (CUDA: peak allocated)."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photo", nargs="?", default=str(HERE / "photos" / "rocket.jpg"))
    parser.add_argument("--size", type=int, default=4096, help="long side to enlarge to")
    parser.add_argument("--model", help="colorizer folder or Hub id (default: shipped model)")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--out", default="outputs/highres_color.jpg")
    parser.add_argument("--random", action="store_true", help="random weights (no model)")
    parser.add_argument("--smoke", action="store_true", help="--random, 384 px, tile 128")
    args = parser.parse_args()
    if args.smoke:
        args.random, args.size, args.tile = True, 384, 128

    if args.random:
        model = pr.CoarseToFine(
            "unet", in_channels=1, out_channels=2, base_size=128, base_channels=8, depth=3
        ).eval()
    else:
        model = pr.load_colorizer(args.model)
    photo = Image.open(args.photo).convert("L")
    scale = args.size / max(photo.size)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)))
    device = "cuda" if torch.cuda.is_available() else "cpu"

    colorizer = pr.Colorizer(model, method="pyramid-tiled", tile=args.tile, device=device)
    started = time.perf_counter()
    coloured = colorizer(photo)
    seconds = time.perf_counter() - started
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    coloured.save(args.out)
    print(
        f"{photo.width}×{photo.height} px, {model.num_levels(photo.height, photo.width)} "
        f"levels, tile {args.tile}: {seconds:.2f} s, peak memory {peak_memory_mib():.0f} MiB"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
