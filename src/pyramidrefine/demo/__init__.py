"""``pyramidrefine demo``: a local web page to colour photos and compare the methods.

:mod:`.runner` opens uploads and runs the methods (no web framework), :mod:`.app` lays
out the Gradio page; the command is :mod:`pyramidrefine.cli.demo`. Gradio comes with the
``demo`` extra.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def example_photos() -> list[Path]:
    """The example photos shipped with the package (greyscale JPEGs), sorted by name."""
    folder = Path(str(resources.files(__package__) / "examples"))
    return sorted(folder.glob("*.jpg"))
