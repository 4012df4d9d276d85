"""The hints how-to's picture: photos coloured without and with colour hints (markers shown).

python scripts/make_hints_figure.py docs/images/hints-before-after.jpg \\
    --photo examples/photos/coffee.jpg --hint 270,228,#c0392b
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

import pyramidrefine as pr
from pyramidrefine.atomic import atomic_path
from pyramidrefine.hints import parse_hint_text, parse_hints


def marked(image: Image.Image, hints: list, radius: int) -> Image.Image:
    """``image`` with each hint drawn as a disc of its colour in a white ring."""
    copy = image.copy()
    draw = ImageDraw.Draw(copy)
    for hint in hints:
        box = (hint.x - radius, hint.y - radius, hint.x + radius, hint.y + radius)
        draw.ellipse(box, fill=hint.rgb, outline="white", width=2)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("figure", type=Path)
    parser.add_argument("--photo", type=Path, required=True)
    parser.add_argument("--hint", type=parse_hint_text, action="append", required=True)
    parser.add_argument("--height", type=int, default=300)
    args = parser.parse_args()
    grey = Image.open(args.photo).convert("L")
    colorizer = pr.Colorizer()
    hints = parse_hints(args.hint, grey.width, grey.height)
    panels = [
        grey.convert("RGB"),
        colorizer(grey),
        marked(colorizer(grey, hints=args.hint), hints, max(4, grey.width // 80)),
    ]
    width = round(grey.width * args.height / grey.height)
    figure = Image.new("RGB", (3 * width + 16, args.height), "white")
    for index, panel in enumerate(panels):
        figure.paste(panel.resize((width, args.height)), (index * (width + 8), 0))
    with atomic_path(args.figure) as temporary:
        figure.save(temporary, format="JPEG", quality=90)


if __name__ == "__main__":
    main()
