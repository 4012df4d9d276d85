"""Train a coarse-to-fine model on any folder of photos, then try it on one of them.

    python examples/train_from_folder.py PHOTOS --task denoising --steps 500 --out runs/mine
    python examples/train_from_folder.py PHOTOS --smoke     # a few tiny steps (CI)

The folder may hold any mix of JPEG/PNG/WebP/TIFF photos, in subfolders too; a tenth is
kept aside for validation. The result (``OUT/model``) loads with
``CoarseToFine.from_pretrained`` and evaluates with ``pyramidrefine evaluate``.
"""

from __future__ import annotations

import argparse

import pyramidrefine as pr
from pyramidrefine.training import load_config, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="folder of colour photos")
    parser.add_argument("--task", default="denoising", choices=pr.list_tasks())
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--out", default="runs/from-folder")
    parser.add_argument("--smoke", action="store_true", help="tiny model and crops, 2 steps")
    args = parser.parse_args()

    overrides = [
        f"output_dir={args.out}",
        f"task={args.task}",
        f"data.train={args.folder}",
        f"max_steps={2 if args.smoke else args.steps}",
        "loss.discriminator=null",  # L1 only: quick and stable; see configs/ for the cGAN
        "scheme.crop_levels=true",  # every level trains on base-size crops
    ]
    if args.smoke:
        overrides += [
            "data.image_size=32",
            "data.batch_size=2",
            "data.val_fraction=0.25",
            "data.val_max_images=1",
            "model.base_size=16",
            "model.base_channels=4",
            "model.depth=2",
            "checkpoint_every=2",
            "validate_every=2",
        ]
    else:
        overrides += [
            "data.image_size=256",
            "data.batch_size=4",
            "model.base_size=64",
            "model.base_channels=16",
            "model.depth=3",
            "checkpoint_every=250",
            "validate_every=250",
        ]
    metrics = train(load_config(None, overrides))
    print({name: round(value, 4) for name, value in metrics.items()})
    model = pr.CoarseToFine.from_pretrained(f"{args.out}/model")
    print(f"saved {args.out}/model: {model.extra_repr()}")


if __name__ == "__main__":
    main()
