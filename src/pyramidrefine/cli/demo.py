"""``pyramidrefine demo``: serve the demo page on this machine."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..choices import BACKENDS, PRECISIONS
from ..demo.limits import DEFAULT_MAX_SIDE, DEFAULT_MAX_UPLOAD, DEFAULT_MAX_WORK, MB
from ..extras import install_command
from .arguments import add_command, add_model_argument, memory_size, positive

HELP = "a local web page to colour photos and compare the methods"
DESCRIPTION = """\
Start a local web page (Gradio) to colour photos: upload one or pick an example, choose
the method, see the greyscale input and the result under a before/after slider with the
time and peak memory it took, compare every method side by side with a zoom on one region,
and download the full-resolution result. It runs the model on this machine, offline.
Files are read and checked as by `pyramidrefine colorize`; a bad one gets its one-line
error on the page. Needs the 'demo' extra: {install}.
"""

EPILOG = """\
examples:
  pyramidrefine demo                          # http://127.0.0.1:7860, the shipped colorizer
  pyramidrefine demo --model my-colorizer --device cuda
  pyramidrefine demo --host 0.0.0.0 --port 8080   # reachable from other machines
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``demo`` subcommand."""
    description = DESCRIPTION.format(install=install_command("demo"))
    parser = add_command(commands, "demo", HELP, description, EPILOG)
    add_model_argument(parser, required=False)
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="as for colorize: bf16 autocast where it is fast, else fp32 (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="as for colorize (auto, torch, onnxruntime); torch by default here because the "
        "page's peak memory counts torch's tensors only (default: %(default)s)",
    )
    parser.add_argument(
        "--memory-budget",
        type=memory_size,
        default="auto",
        metavar="SIZE",
        help="as for colorize: memory one photo may use, e.g. 800M, 2G, auto or none; levels "
        "that would not fit run tile by tile (default: %(default)s)",
    )
    parser.add_argument(
        "--max-side",
        type=positive,
        default=DEFAULT_MAX_SIDE,
        metavar="PIXELS",
        help="larger photos are scaled down to this long side first, with a note on the page; "
        "files over colorize's pixel limit are refused (default: %(default)s)",
    )
    parser.add_argument(
        "--max-upload",
        type=upload_size,
        default=DEFAULT_MAX_UPLOAD,
        metavar="SIZE",
        help=f"largest file a visitor may upload, e.g. 20M, or none (default: "
        f"{DEFAULT_MAX_UPLOAD // MB}M)",
    )
    parser.add_argument(
        "--max-work",
        type=positive,
        default=DEFAULT_MAX_WORK // 10**6,
        metavar="MEGAPIXELS",
        help="a request that would run the model over more pixels than this (all its levels, "
        "tiles and methods) is refused before it runs (default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on; 0.0.0.0 opens the page to other machines (default: %(default)s)",
    )
    parser.add_argument("--port", type=positive, help="port (default: 7860, or the next free one)")
    parser.add_argument(
        "--share",
        action="store_true",
        help="also publish the page through a temporary public gradio.live link (off by default)",
    )


def run(args: argparse.Namespace) -> int:
    """Load the model, build the page and serve it until interrupted; returns the exit code."""
    from ..demo.app import serve  # imports gradio: a one-line error without the extra
    from ..demo.runner import DemoRunner
    from ..devices import resolve_device
    from ..pretrained import load_colorizer

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per local request
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as Ctrl+C does, cleanly
    device = resolve_device(args.device)
    model = load_colorizer(args.model)
    with temporary_folder() as outputs:
        runner = DemoRunner(
            model,
            outputs,
            name=args.model,
            device=device,
            precision=args.precision,
            memory_budget=args.memory_budget,
            backend=args.backend,
            max_side=args.max_side,
            max_upload=args.max_upload,
            max_work=args.max_work * 10**6,
        )
        runner.warm_up()
        page = serve(runner, host=args.host, port=args.port, share=args.share)
        public = f" and {page.share_url}" if page.share_url else ""
        print(f"pyramidrefine demo: serving on {page.local_url}{public} (Ctrl+C stops)")
        page.block_thread()
    return 0


@contextlib.contextmanager
def temporary_folder() -> Iterator[Path]:
    """A new folder for the results, with Gradio's copies of uploads beside it
    (``GRADIO_TEMP_DIR``, restored afterwards); everything is removed on exit."""
    saved = os.environ.get("GRADIO_TEMP_DIR")
    with tempfile.TemporaryDirectory(prefix="pyramidrefine-demo-") as folder:
        os.environ["GRADIO_TEMP_DIR"] = str(Path(folder) / "uploads")
        try:
            results = Path(folder) / "results"
            results.mkdir()
            yield results
        finally:
            if saved is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = saved


def upload_size(text: str) -> int | None:
    """A file size such as 20M, or none (no limit)."""
    size = memory_size(text)
    if size == "auto":
        raise argparse.ArgumentTypeError("give a size such as 20M, or none")
    return size
