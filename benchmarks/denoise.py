"""Denoising benchmark: PSNR/SSIM of pyramid vs baseline vs patchwise at growing sizes.

Each validation photo is resized to a long side of every ``--sizes`` value (enlarged
bilinearly where it is smaller), degraded by the task's noise model with a fixed seed, and
restored by the same weights run as each method. The noisy input is the reference row.
Prints a Markdown table. Example::

    python benchmarks/denoise.py --model runs/denoise-pyramid/model \\
        --data ../shared/data/photos/BSD100 --sizes 256 512 1024 --max-images 8
"""

from __future__ import annotations

import argparse
import time

import torch

import pyramidrefine as pr
from pyramidrefine.geometry import scale_long_side
from pyramidrefine.training.data import validation_images

METHODS = ("pyramid", "baseline", "patchwise")


def at_long_side(image: torch.Tensor, size: int) -> torch.Tensor:
    """``image`` resized so that its long side is ``size``."""
    small = scale_long_side(*image.shape[-2:], size)
    return pr.tiling.resize(image, small).clamp(0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="folder written by the trainer")
    parser.add_argument("--data", default="../shared/data/photos/BSD100")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--max-images", type=int, default=8)
    parser.add_argument("--tile", type=int, help="patchwise tile (default: the base size)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_grad_enabled(False)
    task = pr.model_task(args.model)
    model = pr.load_model(args.model)
    photos = validation_images(args.data, max_images=args.max_images)
    print(
        f"model: {args.model} ({model.extra_repr()}); task: {type(task).__name__} "
        f"sigma={task.sigma} jpeg_quality={task.jpeg_quality}; {len(photos)} photos of "
        f"{args.data}, seed {args.seed}\n"
    )
    print("| long side | method | PSNR (dB) | SSIM | seconds / image |")
    print("|---:|---|---:|---:|---:|")
    for size in args.sizes:
        images = [at_long_side(photo, size) for photo in photos]
        for method in METHODS:
            tile = {"tile": args.tile} if method == "patchwise" and args.tile else {}
            predictor = pr.apply_method(model, method, **tile)
            started = time.perf_counter()
            scores = pr.evaluate(predictor, images, task, device="cpu", seed=args.seed)
            seconds = (time.perf_counter() - started) / len(images)
            if method == METHODS[0]:
                print(
                    f"| {size} | noisy input | {scores['psnr_noisy']:.2f} | "
                    f"{scores['ssim_noisy']:.4f} | – |"
                )
            print(
                f"| {size} | {method} | {scores['psnr']:.2f} | {scores['ssim']:.4f} | "
                f"{seconds:.2f} |"
            )


if __name__ == "__main__":
    main()
