"""The README's before/after picture: greyscale inputs above, the colorizer's outputs below.

pyramidrefine colorize examples/photos --out coloured
python scripts/make_readme_figure.py examples/photos coloured docs/images/before-after.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from pyramidrefine.atomic import atomic_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", type=Path)
    parser.add_argument("outputs", type=Path)
    parser.add_argument("figure", type=Path)
    parser.add_argument("--height", type=int, default=220)
    args = parser.parse_args()
    pairs = []
    for source in sorted(args.inputs.glob("*.jpg")):
        coloured = args.outputs / f"{source.stem}_color.jpg"
        pairs.append([Image.open(p).convert("RGB") for p in (source, coloured)])
    scaled = [
        [im.resize((round(im.width * args.height / im.height), args.height)) for im in pair]
        for pair in pairs
    ]
    width = sum(pair[0].width for pair in scaled) + 8 * (len(scaled) - 1)
    figure = Image.new("RGB", (width, 2 * args.height + 8), "white")
    left = 0
    for before, after in scaled:
        figure.paste(before, (left, 0))
        figure.paste(after, (left, args.height + 8))
        left += before.width + 8
    with atomic_path(args.figure) as temporary:
        figure.save(temporary, format="JPEG", quality=88)


if __name__ == "__main__":
    main()
