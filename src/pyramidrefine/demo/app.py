"""The Gradio page of ``pyramidrefine demo``: one method with a before/after slider, or all
methods side by side with a zoom on one region."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from ..batch import FILE_ERRORS
from ..choices import METHOD_TABLE, METHODS, MIN_TILE
from ..extras import require
from . import example_photos
from .runner import RESULT_SECONDS, DemoRunner, Photo, problem_line, zoom

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no telemetry, no version check: offline
gr = require("gradio", "demo", "pyramidrefine demo")

INTRO = """\
# pyramidrefine: colour a photo
Upload a black-and-white photo (or pick an example), choose a method and press **Colour**.
The result keeps the photo's size and luminance; only the colour is predicted. **Compare all
methods** runs the same weights as every method: the pyramid, one full-resolution pass,
patches, and the low-res trick of popular colorizers.
"""
TABLE_HEADERS = ["method", "seconds", "peak tensor memory (MB)"]
NO_PHOTO = "Upload a photo or pick an example first."
CONTROLS = {"tile": "Tile", "base_size": "Base size"}  # the settings the page offers


def methods_help() -> str:
    """The methods (from :data:`~pyramidrefine.choices.METHOD_TABLE`) and which of the
    page's settings each takes, as Markdown."""
    lines = []
    for method in METHOD_TABLE.values():
        taken = [label for name, label in CONTROLS.items() if name in method.options]
        lines.append(f"- **{method.name}**: {method.help}; takes: {', '.join(taken) or 'none'}")
    return "\n".join(lines)


def build_page(runner: DemoRunner) -> Any:
    """The page (a ``gr.Blocks``) that colours photos with ``runner``."""
    blocks = gr.Blocks(
        title="pyramidrefine demo",
        analytics_enabled=False,
        delete_cache=(RESULT_SECONDS, RESULT_SECONDS),  # Gradio's copies of uploads, results
    )
    with blocks as page:
        gr.Markdown(f"{INTRO}\n{runner.describe()}")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                photo = gr.File(label="Photo", elem_id="photo", height=140)
                gr.Examples([[str(path)] for path in example_photos()], photo, label="Examples")
                method = gr.Dropdown(list(METHODS), value="pyramid", label="Method")
                with gr.Row():
                    tile = gr.Number(
                        0,
                        label=f"Tile (0: default, else {MIN_TILE} or more)",
                        precision=0,
                        minimum=0,
                    )
                    base = gr.Number(0, label="Base size (0: the model's)", precision=0, minimum=0)
                gr.Markdown(methods_help())
                with gr.Row():
                    colour = gr.Button("Colour", variant="primary", elem_id="colour")
                    compare = gr.Button("Compare all methods", elem_id="compare", scale=2)
                status = gr.Textbox(label="Status", interactive=False, lines=2, elem_id="status")
            with gr.Column(scale=2), gr.Tabs() as tabs:
                with gr.Tab("Result", id="result"):
                    slider = gr.ImageSlider(
                        label="Greyscale input | coloured", type="pil", format="png"
                    )
                    download = gr.DownloadButton(
                        "Download the full-resolution result (PNG)",
                        visible=False,
                        elem_id="download",
                    )
                with gr.Tab("Compare all methods", id="all"):
                    table = gr.Dataframe(headers=TABLE_HEADERS, interactive=False)
                    gallery = gr.Gallery(
                        label="All methods", columns=4, format="png", object_fit="contain"
                    )
                    with gr.Row():
                        x = gr.Slider(
                            0, 100, 50, step=1, label="Zoom centre, x (%)", elem_id="zoom-x"
                        )
                        y = gr.Slider(
                            0, 100, 50, step=1, label="Zoom centre, y (%)", elem_id="zoom-y"
                        )
                        side = gr.Slider(
                            16, 512, 96, step=16, label="Zoom size (pixels)", elem_id="zoom-side"
                        )
                    zoomed = gr.Gallery(label="Zoom", columns=4, format="png")
        shown = gr.State([])

        # One queue for both buttons: one photo at a time, so timings and memory are its own.
        colour.click(
            partial(colour_photo, runner),
            [photo, method, tile, base],
            [slider, download, status],
            concurrency_id="colour",
        )
        compare.click(
            partial(compare_methods, runner),
            [photo, tile, base, x, y, side],
            [gallery, table, zoomed, shown, status, tabs],
            concurrency_id="colour",
        )
        gr.on(
            [x.change, y.change, side.change],
            _zoom,
            [shown, x, y, side],
            zoomed,
            trigger_mode="always_last",
            show_progress="hidden",
        )
    return page


def serve(
    runner: DemoRunner,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    share: bool = False,
) -> Any:
    """Build the page and serve it on ``host:port`` (default 7860 or the next free port) in
    a background thread; returns the page (``.local_url``, ``.block_thread()``, ``.close()``)."""
    page = build_page(runner)
    page.queue(default_concurrency_limit=1).launch(
        server_name=host,
        server_port=port,
        share=share,
        prevent_thread_lock=True,
        max_file_size=runner.max_upload,
        allowed_paths=[str(example_photos()[0].parent), str(runner.outputs)],
        ssr_mode=False,
        quiet=True,
    )
    return page


def colour_photo(
    runner: DemoRunner, path: str | None, method: str, tile: float | None, base: float | None
) -> tuple:
    """**Colour**: the before/after pair, the download button and the status line."""
    if path is None:
        return None, gr.DownloadButton(visible=False), NO_PHOTO
    try:
        photo = runner.open(Path(path))
        settings = {"tile": int(tile or 0), "base_size": int(base or 0)}
        runner.check(photo, [method], **settings)
        outcome = runner.colour(photo, method, **settings)
        saved = runner.save(photo, outcome)
    except FILE_ERRORS as error:
        return None, gr.DownloadButton(visible=False), problem_line(Path(path), error)
    pair = (photo.image.convert("L"), outcome.image)
    status = _status(photo, f"{outcome.summary()}; {_size(photo)}")
    return pair, gr.DownloadButton(value=str(saved), visible=True), status


def compare_methods(
    runner: DemoRunner,
    path: str | None,
    tile: float | None,
    base: float | None,
    *view: float,
) -> tuple:
    """**Compare all methods**: gallery, table, zoomed crops, the images kept for later zooms,
    the status line and the tab to show."""
    if path is None:
        return [], [], [], [], NO_PHOTO, gr.Tabs()
    try:
        photo = runner.open(Path(path))
        settings = {"tile": int(tile or 0), "base_size": int(base or 0)}
        runner.check(photo, METHODS, **settings)
        outcomes = runner.compare(photo, **settings)
    except FILE_ERRORS as error:
        return [], [], [], [], problem_line(Path(path), error), gr.Tabs()
    images = [(photo.image.convert("L"), "greyscale input")]
    images += [(outcome.image, outcome.method) for outcome in outcomes]
    rows = [[o.method, round(o.seconds, 2), round(o.peak_mb)] for o in outcomes]
    status = _status(photo, f"{len(outcomes)} methods on {_size(photo)}; see the table")
    return images, rows, _zoom(images, *view), images, status, gr.Tabs(selected="all")


def _zoom(images: list, x: float, y: float, side: float) -> list:
    return zoom(images, x / 100, y / 100, int(side))


def _status(photo: Photo, text: str) -> str:
    return f"{photo.note}\n{text}" if photo.note else text


def _size(photo: Photo) -> str:
    return f"{photo.name}, {photo.image.width}×{photo.image.height} pixels"
