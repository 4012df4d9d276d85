"""Training images/s: the project's trainer against a bare PyTorch loop, same model and batch.

Both train the model of one config (default: the default colorizer's CPU recipe) with its
batch size, precision, channels-last setting and unrolled pyramid scheme, for the same
number of steps, in their own subprocesses. The trainer runs as ``pyramidrefine train``
does (Accelerate, the uint8 image cache, EMA, logging); the bare loop keeps the photos
as one uint8 tensor, cuts crops with plain indexing and calls the model's levels itself
with Adam and an L1 loss. Photos are synthetic (decoding is not what is measured).
Example::

    python benchmarks/train_throughput.py --steps 12
    python benchmarks/train_throughput.py --config configs/colorize-lite0-gpu.yaml --device cuda
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

WARMUP_STEPS = 3


def make_photos(folder: Path, count: int = 64, size: int = 320) -> None:
    """Smooth random colour images, larger than the cache."""
    rng = np.random.default_rng(0)
    for i in range(count):
        small = (rng.random((8, 8, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((size, size), Image.BICUBIC).save(folder / f"{i}.png")


def trainer_rate(config: str, photos: Path, run: Path, steps: int) -> float:
    """Images/s of ``pyramidrefine train`` after the warm-up steps (from its metrics.csv)."""
    command = [
        sys.executable, "-m", "pyramidrefine.cli", "train", "--config", config,
        f"output_dir={run}", f"data.train={photos}", "data.val=null", "data.val_fraction=0",
        f"max_steps={steps}", "log_every=1", f"checkpoint_every={10 * steps}",
        f"validate_every={10 * steps}", "model.encoder_weights=null",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    rows = [line.split(",") for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    rates = {int(step): float(value) for step, _, name, value in rows if name == "images_per_s"}
    # The logged rate is cumulative (images since the start / seconds since the start), so
    # the seconds to step k are k·B / rate_k; the rate after the warm-up follows from two.
    from pyramidrefine.training import load_config

    batch = load_config(config).data.batch_size
    last = max(rates)
    seconds = batch * (last / rates[last] - WARMUP_STEPS / rates[WARMUP_STEPS])
    return (last - WARMUP_STEPS) * batch / seconds


def bare_loop_rate(config_path: str, photos: Path, steps: int, device: str) -> float:
    """Images/s of a plain loop over the same model, batch, precision and scheme."""
    import torch
    from kornia.color import rgb_to_lab

    from pyramidrefine import CoarseToFine
    from pyramidrefine.tiling import resize
    from pyramidrefine.training import load_config
    from pyramidrefine.training.cache import square_thumbnail

    config = load_config(config_path, ["model.encoder_weights=null"])
    model_kwargs = {k: v for k, v in config.model.items() if k != "init_from"}
    model = CoarseToFine(in_channels=1, out_channels=2, **model_kwargs).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    size, crop, batch = config.data.cache_size, config.data.image_size, config.data.batch_size
    images = torch.from_numpy(
        np.stack([square_thumbnail(Image.open(p), size) for p in sorted(photos.glob("*.png"))])
    ).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.optim.lr, betas=(0.5, 0.999))
    dtype = torch.bfloat16 if config.mixed_precision == "bf16" else torch.float16
    autocast = torch.autocast(
        torch.device(device).type, dtype=dtype, enabled=config.mixed_precision != "no"
    )
    base = config.model["base_size"]
    started = 0.0
    for step in range(steps + WARMUP_STEPS):
        if step == WARMUP_STEPS:
            _synchronize(device)
            started = time.perf_counter()
        index = torch.randint(len(images), (batch,))
        top, left = (int(v) for v in torch.randint(size - crop + 1, (2,)))
        rgb = images[index, top : top + crop, left : left + crop].permute(0, 3, 1, 2) / 255.0
        lab = rgb_to_lab(rgb)
        L, ab = lab[:, :1] / 50 - 1, lab[:, 1:] / 110
        with autocast:
            coarse = model.run_level(0, resize(L, (base, base)))
            y, x = (int(v) for v in torch.randint(crop - base + 1, (2,)))
            prior = resize(coarse, (crop, crop))[..., y : y + base, x : x + base]
            fine = model.run_level(1, L[..., y : y + base, x : x + base], prior)
        loss = (coarse.float() - resize(ab, (base, base))).abs().mean() * 0.5 + (
            fine.float() - ab[..., y : y + base, x : x + base]
        ).abs().mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    _synchronize(device)
    return steps * batch / (time.perf_counter() - started)


def _synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/colorize-lite0-cpu.yaml")
    parser.add_argument("--steps", type=int, default=12, help="timed steps after the warm-up")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bare-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--photos", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_only:
        print(json.dumps(bare_loop_rate(args.config, Path(args.photos), args.steps, args.device)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        photos = Path(scratch) / "photos"
        photos.mkdir()
        make_photos(photos)
        trainer = trainer_rate(
            args.config, photos, Path(scratch) / "run", args.steps + WARMUP_STEPS
        )
        bare_command = [
            sys.executable, __file__, "--bare-only", "--config", args.config,
            "--photos", str(photos), "--steps", str(args.steps), "--device", args.device,
        ]  # fmt: skip
        bare = float(subprocess.run(bare_command, check=True, capture_output=True, text=True)
                     .stdout.strip().splitlines()[-1])  # fmt: skip
    print("| config | device | trainer images/s | bare loop images/s | ratio |")
    print("|---|---|---|---|---|")
    print(f"| {args.config} | {args.device} | {trainer:.1f} | {bare:.1f} | {trainer / bare:.2f} |")


if __name__ == "__main__":
    main()
