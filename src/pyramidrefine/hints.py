"""Colour hints: "this pixel is red", read from the user and rendered as a pyramid's guide.

A hint is ``(x, y, colour)`` or ``(x, y, colour, size)``: pixel coordinates of the input
image (``x`` the column, ``y`` the row, from the top left), a colour as an ``(r, g, b)``
tuple of integers 0..255 or a ``"#rrggbb"`` string, and an optional square patch side in
pixels (default 1: a point). JSON files may also give objects
``{"x": ..., "y": ..., "colour": ..., "size": ...}`` (``color`` is read too).

:func:`render_guide` turns hints into the colorization guide: the hint colour's ab
(CIE Lab, :mod:`~pyramidrefine.lab`, normalised by ``AB_SCALE`` as the task's target) and
a mask channel, 1 at hinted pixels; a later hint overwrites an earlier one where they
overlap. Torch-free (NumPy), so that the command line parses hints before it loads torch.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidInputError
from .lab import AB_SCALE, rgb_to_lab

MAX_HINTS = 64
MAX_PATCH = 32
GUIDE_CHANNELS = 3  # ab and the mask
MAX_HINTS_FILE_BYTES = 1_000_000
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
FORMAT = (
    "give (x, y, colour) or (x, y, colour, size) with pixel coordinates inside the image, "
    "a colour '#rrggbb' or (r, g, b) of integers 0..255 and a size of 1.."
    f"{MAX_PATCH} pixels"
)

HintLike = Sequence[Any] | Mapping[str, Any]


@dataclass(frozen=True)
class Hint:
    """One checked hint: the pixel its patch is centred on, its colour, the patch's side."""

    x: int
    y: int
    rgb: tuple[int, int, int]
    size: int = 1

    @property
    def ab(self) -> tuple[float, float]:
        """The colour's a and b of CIE Lab (D65), in Lab units."""
        lab = rgb_to_lab(np.array(self.rgb, np.float32) / 255.0)
        return float(lab[1]), float(lab[2])


def parse_colour(value: Any) -> tuple[int, int, int] | None:
    """``value`` as an ``(r, g, b)`` tuple of 0..255, or ``None`` if it is not a colour."""
    if isinstance(value, str):
        if not _HEX.fullmatch(value.strip()):
            return None
        digits = value.strip()[1:]
        return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    is_triple = isinstance(value, Sequence) and len(value) == 3
    if is_triple and all(_is_int(v) and 0 <= v <= 255 for v in value):
        return (int(value[0]), int(value[1]), int(value[2]))
    return None


def parse_hint(value: HintLike, width: int, height: int, index: int = 0) -> Hint:
    """``value`` checked against an image of ``width × height``; else one
    :class:`InvalidInputError` line naming hint ``index`` (from 1) and the fix."""
    name = f"hint {index + 1} ({_shown(value)})"
    if isinstance(value, Mapping):
        unknown = set(value) - {"x", "y", "colour", "color", "size"}
        if unknown:
            raise InvalidInputError(f"{name}: unknown key(s) {sorted(unknown)}; {FORMAT}")
        colour = value.get("colour", value.get("color"))
        value = [value.get("x"), value.get("y"), colour, value.get("size", 1)]
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, Sequence)
        or len(value) not in (3, 4)
    ):
        raise InvalidInputError(f"{name}: not a hint; {FORMAT}")
    x, y, colour, *rest = value
    size = rest[0] if rest else 1
    if not (_is_int(x) and _is_int(y)):
        raise InvalidInputError(f"{name}: x and y must be integers (pixels); {FORMAT}")
    if not (0 <= x < width and 0 <= y < height):
        raise InvalidInputError(
            f"{name}: ({x}, {y}) lies outside the {width}×{height} image; give x in "
            f"0..{width - 1} and y in 0..{height - 1}"
        )
    rgb = parse_colour(colour)
    if rgb is None:
        raise InvalidInputError(
            f"{name}: {_shown(colour)} is not a colour; give '#rrggbb' (e.g. '#c0392b') or "
            "(r, g, b) with integers 0..255"
        )
    if not _is_int(size) or not 1 <= size <= MAX_PATCH:
        raise InvalidInputError(
            f"{name}: size {_shown(size)} must be an integer from 1 to {MAX_PATCH} (pixels)"
        )
    return Hint(int(x), int(y), rgb, int(size))


def parse_hints(hints: Iterable[HintLike], width: int, height: int) -> list[Hint]:
    """Every hint of ``hints`` checked (:func:`parse_hint`), at most :data:`MAX_HINTS`."""
    if isinstance(hints, str | bytes | Mapping) or not isinstance(hints, Iterable):
        raise InvalidInputError(
            f"hints must be a list of hints, got {_shown(hints)}; e.g. [(270, 228, '#c0392b')]"
        )
    hints = list(hints)
    if len(hints) > MAX_HINTS:
        raise InvalidInputError(
            f"{len(hints)} hints are more than the {MAX_HINTS} a picture takes; give at most "
            f"{MAX_HINTS} (a few well-placed points are enough)"
        )
    return [parse_hint(hint, width, height, index) for index, hint in enumerate(hints)]


def parse_hint_text(text: str) -> list[Any]:
    """A command-line hint ``"x,y,#rrggbb"`` or ``"x,y,#rrggbb,size"`` as a hint value
    (checked against the image later, by :func:`parse_hint`)."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (3, 4) or not all(p.lstrip("-").isdigit() for p in parts[:2] + parts[3:]):
        raise InvalidInputError(
            f"hint {text!r} must look like X,Y,#RRGGBB or X,Y,#RRGGBB,SIZE (pixels), e.g. "
            "270,228,#c0392b"
        )
    x, y, colour, *size = parts
    return [int(x), int(y), colour, *(int(s) for s in size)]


def read_hints_file(path: str | os.PathLike) -> list[Any] | dict[str, list[Any]]:
    """The hints in a JSON file: a list of hints (for one image), or an object mapping
    image file names to lists of hints (for a batch). Shapes checked, values later."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            text = file.read(MAX_HINTS_FILE_BYTES + 1)
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot read the hints file ({error.strerror})") from None
    if len(text) > MAX_HINTS_FILE_BYTES:
        raise InvalidInputError(f"{path}: a hints file is at most {MAX_HINTS_FILE_BYTES} bytes")
    try:
        hints = json.loads(text)
    except (ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidInputError(f"{path}: not a JSON hints file ({reason})") from None
    lists = hints.values() if isinstance(hints, dict) else [hints]
    if not all(isinstance(value, list) for value in lists):
        raise InvalidInputError(
            f"{path}: a hints file holds a JSON list of hints, or an object of file name -> "
            'list of hints, e.g. [[270, 228, "#c0392b"]] or {"photo.jpg": [[270, 228, "#c0392b"]]}'
        )
    return hints


def takes_hints(guide_channels: int) -> bool:
    """Whether a colorizer with ``guide_channels`` takes hints: with :data:`GUIDE_CHANNELS`
    its network reads them, with none they are spread over its prediction
    (:mod:`~pyramidrefine.hint_propagation`)."""
    return guide_channels in (0, GUIDE_CHANNELS)


def render_guide(hints: Sequence[Hint], height: int, width: int) -> np.ndarray:
    """The ``3×height×width`` float32 guide of checked ``hints``: ab / ``AB_SCALE`` and the
    mask. A patch is centred on its pixel (cut at the image's border)."""
    guide = np.zeros((GUIDE_CHANNELS, height, width), np.float32)
    for hint in hints:
        top, left = hint.y - (hint.size - 1) // 2, hint.x - (hint.size - 1) // 2
        rows = slice(max(0, top), max(0, top + hint.size))
        cols = slice(max(0, left), max(0, left + hint.size))
        a, b = hint.ab
        guide[:, rows, cols] = np.array([a / AB_SCALE, b / AB_SCALE, 1.0], np.float32)[
            :, None, None
        ]
    return guide


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return repr(value)[:60]
