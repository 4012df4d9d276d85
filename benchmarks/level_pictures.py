"""Every pyramid level of a colorizer, side by side: where does an artefact first appear?

For each photo: the colour of every level's prediction (rendered with the photo's own
luminance at that level's size, all shown at the finest level's size / ``--scale``), one
row per refinement rule. A blob or a line that appears at level k and not before is painted
by level k's generator over its prior. Example (the night sky of the rocket photo)::

    python benchmarks/level_pictures.py examples/photos/rocket.jpg \\
        --out docs/results/v2-design --refinement full detail
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from einops import rearrange
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.atomic import atomic_path
from pyramidrefine.bands import REFINEMENTS
from pyramidrefine.images import read_image, to_tensor
from pyramidrefine.tasks import ColorizationTask
from pyramidrefine.tiling import resize


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the pictures")
    parser.add_argument("--model", default="default", help="model name, folder or Hub id")
    parser.add_argument("--refinement", nargs="+", choices=REFINEMENTS, default=["full"])
    parser.add_argument("--scale", type=int, default=2, help="show levels at 1/scale size")
    return parser.parse_args(argv)


@torch.no_grad()
def level_row(model: pr.CoarseToFine, L: torch.Tensor, shown: tuple[int, int]) -> Image.Image:
    """The levels of ``model`` on normalised ``L``, coarsest first, each at ``shown`` size."""
    task = ColorizationTask()
    levels = model.forward_levels(L)
    height, width = shown
    row = Image.new("RGB", (width * len(levels), height))
    for index, ab in enumerate(levels):
        rgb = task.render(resize(L, tuple(ab.shape[-2:])), ab)
        shown_rgb = resize(rgb, shown).clamp(0, 1)[0]
        array = (rearrange(shown_rgb, "c h w -> h w c") * 255).round().byte().numpy()
        row.paste(Image.fromarray(array), (index * width, 0))
    return row


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    model = pr.load_model(args.model).eval()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.photos:
        rgb, _ = to_tensor(read_image(path))
        L = ColorizationTask().inputs(rgb.expand(-1, 3, -1, -1) if rgb.shape[1] == 1 else rgb)
        shown = (L.shape[-2] // args.scale, L.shape[-1] // args.scale)
        rows = []
        for refinement in args.refinement:
            model.refinement = refinement
            rows.append(level_row(model, L, shown))
        sheet = Image.new("RGB", (rows[0].width, sum(row.height for row in rows)))
        for index, row in enumerate(rows):
            sheet.paste(row, (0, index * row.height))
        target = args.out / f"levels-{path.stem}.jpg"
        with atomic_path(target) as temporary:
            sheet.save(temporary, format="JPEG", quality=90)
        print(target)


if __name__ == "__main__":
    main()
