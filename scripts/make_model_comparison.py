"""Colorizers side by side: one row per photo (shrunk to --side), one column per model.

python scripts/make_model_comparison.py docs/results/v2-design/v1-vs-v2.jpg \\
    --model v1 models/v1 --model v2 default --side 1024 \\
    ../shared/data/hires/Kite.jpg examples/photos/rocket.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageOps

import pyramidrefine as pr
from pyramidrefine.atomic import atomic_path
from pyramidrefine.progress import track


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("figure", type=Path, help="JPEG to write")
    parser.add_argument("photos", type=Path, nargs="+")
    parser.add_argument(
        "--model", nargs=2, action="append", required=True, metavar=("NAME", "MODEL")
    )
    parser.add_argument("--side", type=int, default=1024, help="long side the models colour at")
    parser.add_argument("--width", type=int, default=400, help="width of each panel")
    args = parser.parse_args()
    colorizers = {name: pr.Colorizer(path, precision="fp32") for name, path in args.model}
    rows = []
    for path in track(args.photos, "compare", unit="photo"):
        grey = ImageOps.exif_transpose(Image.open(path)).convert("L")
        grey = ImageOps.contain(grey, (args.side, args.side), Image.Resampling.LANCZOS)
        rows.append([ImageOps.contain(c(grey), (args.width, 10**6)) for c in colorizers.values()])
    gap = 6
    height = sum(row[0].height for row in rows) + gap * (len(rows) - 1)
    figure = Image.new("RGB", (len(colorizers) * (args.width + gap) - gap, height), "white")
    top = 0
    for row in rows:
        for column, panel in enumerate(row):
            figure.paste(panel, (column * (args.width + gap), top))
        top += row[0].height + gap
    with atomic_path(args.figure) as temporary:
        figure.save(temporary, format="JPEG", quality=88)


if __name__ == "__main__":
    main()
