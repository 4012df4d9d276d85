"""The Gradio page of ``pyramidrefine demo``: one method with a before/after slider, or all
methods side by side with a zoom on one region; colour hints placed by clicking the picture."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from ..batch import FILE_ERRORS
from ..choices import METHOD_TABLE, METHODS, MIN_TILE
from ..errors import InvalidInputError
from ..extras import require
from ..hints import MAX_HINTS
from . import example_photos
from .marks import DEFAULT_COLOUR, Canvas, PageHint, draw_markers, hint_at, hint_text
from .runner import NO_HINTS, RESULT_SECONDS, DemoRunner, Photo, problem_line, zoom

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
HINTS_HELP = """\
Click the picture to place a colour hint there, in the colour of the picker, then press
**Colour** (or **Compare all methods**) to run again with the hints. The list gives each
hint as (x, y, colour) in the uploaded photo's pixels, as `pyramidrefine colorize --hint`
takes them.
"""


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
                with gr.Tab("Colour hints", id="hints"):
                    gr.Markdown(
                        HINTS_HELP if runner.takes_hints() else f"{HINTS_HELP}\n{NO_HINTS}."
                    )
                    with gr.Row():
                        picture = gr.Image(
                            label="Click to place a hint",
                            type="pil",
                            format="png",
                            interactive=False,
                            elem_id="hint-picture",
                            scale=2,
                        )
                        with gr.Column(scale=1):
                            picker = gr.ColorPicker(
                                DEFAULT_COLOUR,
                                label="Colour of the next hint",
                                elem_id="hint-colour",
                            )
                            listed = gr.Textbox(
                                label="Hints (x, y, colour)",
                                interactive=False,
                                lines=4,
                                elem_id="hint-list",
                            )
                            remove = gr.Button("Remove the last hint", elem_id="remove-hint")
                            clear = gr.Button("Clear hints", elem_id="clear-hints")
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
        hints = gr.State([])
        canvas = gr.State(None)

        # A function, not a partial: Gradio passes the click by its SelectData annotation.
        def on_click(on: Canvas | None, placed: list, colour: str, event: gr.SelectData) -> tuple:
            return place_hint(runner, on, placed, colour, event.index)

        photo.change(partial(show_photo, runner), photo, [canvas, picture, hints, listed, status])
        picture.select(on_click, [canvas, hints, picker], [hints, picture, listed, status])
        remove.click(remove_last_hint, [canvas, hints], [hints, picture, listed])
        clear.click(clear_hints, canvas, [hints, picture, listed])
        # One queue for both buttons: one photo at a time, so timings and memory are its own.
        colour.click(
            partial(colour_photo, runner),
            [photo, method, tile, base, hints],
            [slider, download, status, canvas, picture],
            concurrency_id="colour",
        )
        compare.click(
            partial(compare_methods, runner),
            [photo, tile, base, hints, x, y, side],
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
    runner: DemoRunner,
    path: str | None,
    method: str,
    tile: float | None,
    base: float | None,
    hints: Sequence[PageHint] = (),
) -> tuple:
    """**Colour**: the before/after pair, the download button, the status line, and the
    result with the hints' markers as the picture to place hints on (with its canvas)."""
    if path is None:
        return None, gr.DownloadButton(visible=False), NO_PHOTO, gr.skip(), gr.skip()
    try:
        photo = runner.open(Path(path))
        settings = {"tile": int(tile or 0), "base_size": int(base or 0)}
        runner.check(photo, [method], **settings)
        outcome = runner.colour(photo, method, hints=hints, **settings)
        saved = runner.save(photo, outcome)
    except FILE_ERRORS as error:
        line = problem_line(Path(path), error)
        return None, gr.DownloadButton(visible=False), line, gr.skip(), gr.skip()
    pair = (photo.image.convert("L"), outcome.image)
    status = _status(photo, f"{outcome.summary()}; {_size(photo)}")
    canvas = Canvas(photo, outcome.image)
    download = gr.DownloadButton(value=str(saved), visible=True)
    return pair, download, status, canvas, draw_markers(canvas, hints)


def compare_methods(
    runner: DemoRunner,
    path: str | None,
    tile: float | None,
    base: float | None,
    hints: Sequence[PageHint],
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
        outcomes = runner.compare(photo, hints=hints, **settings)
    except FILE_ERRORS as error:
        return [], [], [], [], problem_line(Path(path), error), gr.Tabs()
    images = [(photo.image.convert("L"), "greyscale input")]
    images += [(outcome.image, outcome.method) for outcome in outcomes]
    rows = [[o.method, round(o.seconds, 2), round(o.peak_mb)] for o in outcomes]
    status = _status(photo, f"{len(outcomes)} methods on {_size(photo)}; see the table")
    return images, rows, _zoom(images, *view), images, status, gr.Tabs(selected="all")


def show_photo(runner: DemoRunner, path: str | None) -> tuple:
    """A new upload (or none): its canvas and picture to place hints on, no hints yet, and
    the status line (a problem with the file, or its scaling note)."""
    if path is None:
        return None, None, [], "", ""
    try:
        photo = runner.open(Path(path))
    except FILE_ERRORS as error:
        return None, None, [], "", problem_line(Path(path), error)
    canvas = Canvas(photo, photo.image)
    return canvas, draw_markers(canvas, []), [], "", photo.note


def place_hint(
    runner: DemoRunner,
    canvas: Canvas | None,
    hints: list[PageHint],
    colour: str,
    index: tuple[int, int],
) -> tuple:
    """A click at the picture's pixel ``index``: the hints with one more of ``colour``, the
    picture with their markers, their list and the status line; a model without guide
    channels, or a click before any photo, gets one status line instead."""
    if canvas is None:
        return gr.skip(), gr.skip(), gr.skip(), NO_PHOTO
    if not runner.takes_hints():
        return gr.skip(), gr.skip(), gr.skip(), NO_HINTS
    if len(hints) >= MAX_HINTS:
        return gr.skip(), gr.skip(), gr.skip(), f"a picture takes at most {MAX_HINTS} hints"
    try:
        hint = hint_at(canvas, index, colour)
    except InvalidInputError as error:
        return gr.skip(), gr.skip(), gr.skip(), str(error)
    placed = [*hints, hint]
    x, y, rgb = hint
    line = f"hint {len(placed)} at ({x}, {y}), {rgb}; press Colour to run with the hints"
    return placed, draw_markers(canvas, placed), hint_text(placed), _status(canvas.photo, line)


def remove_last_hint(canvas: Canvas | None, hints: list[PageHint]) -> tuple:
    """**Remove the last hint**: the hints, the picture with their markers, their list."""
    return _hints_shown(canvas, hints[:-1])


def clear_hints(canvas: Canvas | None) -> tuple:
    """**Clear hints**: no hint, the picture without markers, an empty list."""
    return _hints_shown(canvas, [])


def _hints_shown(canvas: Canvas | None, hints: list[PageHint]) -> tuple:
    picture = gr.skip() if canvas is None else draw_markers(canvas, hints)
    return hints, picture, hint_text(hints)


def _zoom(images: list, x: float, y: float, side: float) -> list:
    return zoom(images, x / 100, y / 100, int(side))


def _status(photo: Photo, text: str) -> str:
    return f"{photo.note}\n{text}" if photo.note else text


def _size(photo: Photo) -> str:
    return f"{photo.name}, {photo.image.width}×{photo.image.height} pixels"
