"""The demo page's colour hints: a click on the shown picture kept in the full-size photo's
pixels, the hints drawn as markers on a copy of that picture and listed as text."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from ..errors import InvalidInputError
from ..hints import parse_colour
from .runner import Photo

DEFAULT_COLOUR = "#c0392b"
# A hint as the page keeps it: [x, y, "#rrggbb"], in the full-size photo's pixels.
PageHint = list


@dataclass(frozen=True)
class Canvas:
    """The picture hints are placed on: ``photo`` (what the model colours) or a result of
    it, of the same size, so that a click's pixel is the photo's."""

    photo: Photo
    picture: Image.Image


def hint_at(canvas: Canvas, index: tuple[int, int], colour: str) -> PageHint:
    """The hint of ``colour`` (``#rrggbb``) at the picture's pixel ``index`` (``x, y``, as
    Gradio's ``SelectData.index`` gives it), in the full-size photo's pixels."""
    if parse_colour(colour) is None:
        raise InvalidInputError(f"colour {colour!r} is not '#rrggbb'; pick one with the picker")
    width, height = canvas.picture.size
    x, y = (min(max(0, int(v)), side - 1) for v, side in zip(index, (width, height), strict=True))
    return [*canvas.photo.to_full(x, y), colour.lower()]


def draw_markers(canvas: Canvas, hints: list[PageHint]) -> Image.Image:
    """A colour copy of the canvas's picture with each hint as a small disc of its colour in
    a ring that contrasts with it (black on light colours, white on dark ones)."""
    marked = canvas.picture.convert("RGB")  # a copy: the picture itself stays unmarked
    draw = ImageDraw.Draw(marked)
    radius = max(3, round(max(marked.size) / 100))
    ring = max(1, radius // 3)
    for x, y, colour in hints:
        rgb = parse_colour(colour)
        cx, cy = canvas.photo.to_image(x, y)
        light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 128
        outer = radius + ring
        draw.ellipse(
            (cx - outer, cy - outer, cx + outer, cy + outer), fill="black" if light else "white"
        )
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=rgb)
    return marked


def hint_text(hints: list[PageHint]) -> str:
    """One ``(x, y, #rrggbb)`` line per hint."""
    return "\n".join(f"({x}, {y}, {colour})" for x, y, colour in hints)
