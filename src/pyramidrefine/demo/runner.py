"""What the demo page does, without the page: open an upload, colour it, time it, zoom in."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from .. import batch
from ..choices import METHOD_TABLE, METHODS
from ..errors import ConfigurationError, ImageReadError
from ..geometry import scale_long_side
from ..hardware import MemoryBudget, Precision, resolve_precision
from ..hints import GUIDE_CHANNELS, HintLike, parse_hints, takes_hints
from ..images import read_image
from ..inference import Colorizer
from ..methods import apply_method, check_tiling, generator_pixels
from ..profiling import peak_tensor_bytes, synchronize
from ..pyramid import CoarseToFine
from .limits import DEFAULT_MAX_SIDE, DEFAULT_MAX_UPLOAD, DEFAULT_MAX_WORK, MB

RESULT_SECONDS = 600  # results and Gradio's copies of uploads are kept this long
ZOOM_SIDE = 256  # crops are enlarged (nearest neighbour) to this side, to show the pixels
NO_HINTS = (
    "this model takes no colour hints; load a colorizer with "
    f"{GUIDE_CHANNELS} guide channels or none with --model DIR_OR_HUB_ID, see docs/hints.md"
)


@dataclass(frozen=True)
class Photo:
    """An upload ready to colour: its file name, its pixels, a note on any downscaling and
    the upload's ``(width, height)`` before it.

    Hints are kept in the full-size photo's pixels (those ``pyramidrefine colorize --hint``
    takes); :meth:`to_full` and :meth:`to_image` map a pixel between the two sizes.
    """

    name: str
    image: Image.Image
    note: str = ""
    upload_size: tuple[int, int] | None = None  # (width, height) before scaling; None: same

    @property
    def full_size(self) -> tuple[int, int]:
        """The upload's ``(width, height)``: the pixels hints are given in."""
        return self.upload_size or self.image.size

    def to_full(self, x: int, y: int) -> tuple[int, int]:
        """The full-size pixel under the centre of the image's pixel (``x``, ``y``)."""
        (width, height), (full_width, full_height) = self.image.size, self.full_size
        return (
            min(int((x + 0.5) * full_width / width), full_width - 1),
            min(int((y + 0.5) * full_height / height), full_height - 1),
        )

    def to_image(self, x: int, y: int) -> tuple[int, int]:
        """The image's pixel that holds the full-size pixel (``x``, ``y``)."""
        (width, height), (full_width, full_height) = self.image.size, self.full_size
        return (
            min(int((x + 0.5) * width / full_width), width - 1),
            min(int((y + 0.5) * height / full_height), height - 1),
        )


@dataclass(frozen=True)
class Outcome:
    """One method's result on a photo, its wall time and the most memory its tensors held
    at once (MB; see :func:`~pyramidrefine.profiling.peak_tensor_bytes`)."""

    method: str
    image: Image.Image
    seconds: float
    peak_mb: float
    hints: int = 0  # how many colour hints it was given

    def summary(self) -> str:
        """``method: 1.23 s, peak tensor memory 45 MB`` (``method with 2 colour hints: ...``)."""
        given = f" with {self.hints} colour hint{'s' * (self.hints != 1)}" if self.hints else ""
        return (
            f"{self.method}{given}: {self.seconds:.2f} s, peak tensor memory {self.peak_mb:.0f} MB"
        )


class DemoRunner:
    """A loaded colorizer on a device, the demo's limits and its output folder; ``name``: the
    model's folder or Hub id (``None``: the shipped colorizer).

    Limits (``None``: none): ``max_side`` (photos are shrunk to it), ``max_upload`` (bytes
    of an upload), ``max_work`` (pixels the generators go over for one request; see
    :meth:`check`). ``backend``: what runs the network (see
    :func:`~pyramidrefine.inference.colorize`); the page's peak memory counts torch's tensors,
    so the demo defaults to ``"torch"``.
    """

    def __init__(
        self,
        model: CoarseToFine,
        outputs: Path,
        *,
        name: str | None = None,
        device: str,
        precision: Precision = "auto",
        memory_budget: MemoryBudget = "auto",
        backend: str = "torch",
        max_side: int | None = DEFAULT_MAX_SIDE,
        max_upload: int | None = DEFAULT_MAX_UPLOAD,
        max_work: int | None = DEFAULT_MAX_WORK,
    ) -> None:
        self.model = model
        self.name = name
        self.outputs = outputs
        self.device = torch.device(device)
        self.precision = precision
        self.memory_budget = memory_budget
        self.backend = backend
        self.max_side = max_side
        self.max_upload = max_upload
        self.max_work = max_work
        self._colorizers: dict[tuple[str, int | None, int | None], Colorizer] = {}

    def describe(self) -> str:
        """``Model: NAME, on DEVICE in PRECISION.``"""
        precision = resolve_precision(self.precision, self.device)
        name = self.name or "the colorizer shipped with pyramidrefine"
        return f"Model: {name}, on {self.device} in {precision}."

    def open(self, path: Path) -> Photo:
        """Read an upload as the CLI does (same checks, same pixel limit) if it is within
        ``max_upload`` bytes; shrink it to ``max_side`` with a note saying so."""
        size = path.stat().st_size if path.is_file() else 0
        if self.max_upload is not None and size > self.max_upload:
            raise ImageReadError(
                f"{path}: {size:,} bytes is over the demo's upload limit of "
                f"{self.max_upload:,} (--max-upload); pyramidrefine colorize takes it"
            )
        image = read_image(path)
        long_side = max(image.size)
        if self.max_side is None or long_side <= self.max_side:
            return Photo(path.name, image)
        size = scale_long_side(image.width, image.height, self.max_side)
        note = (
            f"{path.name}: scaled down from {image.width}×{image.height} to "
            f"{size[0]}×{size[1]} pixels, the demo's limit (--max-side {self.max_side}); "
            "pyramidrefine colorize takes the full size; hints are listed in the full "
            f"{image.width}×{image.height} photo's pixels"
        )
        scaled = image.resize(size, Image.Resampling.LANCZOS)
        return Photo(path.name, scaled, note, image.size)

    def takes_hints(self) -> bool:
        """Whether the model takes colour hints (:func:`~pyramidrefine.hints.takes_hints`)."""
        return takes_hints(self.model.guide_channels)

    def colour(
        self,
        photo: Photo,
        method: str,
        *,
        tile: int | None = None,
        base_size: int | None = None,
        hints: Sequence[HintLike] = (),
    ) -> Outcome:
        """Colour ``photo`` by ``method``; ``tile`` and ``base_size`` go to the methods that
        take them (see :func:`pyramidrefine.methods.apply_method`); ``hints``: colour hints
        in the full-size photo's pixels (:mod:`pyramidrefine.hints`), given to the model at
        the scaled photo's (a :class:`ConfigurationError` line if it takes none)."""
        if hints and not self.takes_hints():
            raise ConfigurationError(NO_HINTS)
        scaled = [
            (*photo.to_image(hint.x, hint.y), hint.rgb, hint.size)
            for hint in parse_hints(hints, *photo.full_size)
        ]
        colorizer = self.colorizer(method, tile=tile, base_size=base_size)
        start = time.perf_counter()
        peak_bytes, image = peak_tensor_bytes(colorizer, photo.image, hints=scaled or None)
        synchronize(self.device)
        seconds = time.perf_counter() - start
        return Outcome(method, image, seconds, peak_bytes / MB, len(scaled))

    def colorizer(
        self, method: str, *, tile: int | None = None, base_size: int | None = None
    ) -> Colorizer:
        """The :class:`Colorizer` of ``method`` with these settings, built (and its BatchNorm
        folded) on the first request and reused by the next ones."""
        settings = _settings(method, tile, base_size)
        key = (method, settings.get("tile"), settings.get("base_size"))
        if key not in self._colorizers:
            self._colorizers[key] = Colorizer(
                self.model,
                method=method,
                device=self.device,
                precision=self.precision,
                memory_budget=self.memory_budget,
                backend=self.backend,
                **settings,
            )
        return self._colorizers[key]

    def compare(
        self,
        photo: Photo,
        *,
        tile: int | None = None,
        base_size: int | None = None,
        hints: Sequence[HintLike] = (),
    ) -> list[Outcome]:
        """:meth:`colour` by every method, in the order of :data:`~pyramidrefine.METHODS`."""
        settings = {"tile": tile, "base_size": base_size, "hints": hints}
        return [self.colour(photo, method, **settings) for method in METHODS]

    def check(
        self,
        photo: Photo,
        methods: Sequence[str],
        *,
        tile: int | None = None,
        base_size: int | None = None,
    ) -> None:
        """Refuse a request before it runs: tiles under
        :data:`~pyramidrefine.methods.MIN_TILE` or overlapping by half
        (:func:`~pyramidrefine.methods.check_tiling`), or more than ``max_work`` pixels for
        the generators to go over, all ``methods`` together; a :class:`ConfigurationError`."""
        work = 0
        for method in methods:
            predictor = apply_method(self.model, method, **_settings(method, tile, base_size))
            check_tiling(predictor)
            work += generator_pixels(predictor, photo.image.height, photo.image.width)
        if self.max_work is not None and work > self.max_work:
            raise ConfigurationError(
                f"this would run the model over {work:,} pixels, over the demo's limit of "
                f"{self.max_work:,} (--max-work); choose fewer methods, larger tiles or a "
                "smaller photo"
            )

    def save(self, photo: Photo, outcome: Outcome) -> Path:
        """Write ``outcome`` as a full-resolution PNG in a new folder under ``outputs``;
        results older than :data:`RESULT_SECONDS` are removed first."""
        self.remove_old_results()
        folder = Path(tempfile.mkdtemp(dir=self.outputs))
        hinted = "_hinted" * bool(outcome.hints)
        path = folder / f"{Path(photo.name).stem}_{outcome.method}{hinted}.png"
        batch.save_image(outcome.image, path)
        return path

    def remove_old_results(self, age: float = RESULT_SECONDS) -> None:
        """Remove the result folders under ``outputs`` older than ``age`` seconds."""
        now = time.time()
        for folder in self.outputs.iterdir():
            if folder.is_dir() and now - folder.stat().st_mtime > age:
                shutil.rmtree(folder, ignore_errors=True)

    def warm_up(self) -> None:
        """Colour a small grey square once, so that the first timing shown is not a cold one."""
        self.colour(Photo("warm-up", Image.new("L", (64, 64), 128)), "pyramid")


def _settings(method: str, tile: int | None, base_size: int | None) -> dict[str, int]:
    """The settings ``method`` takes, of those given (0 or ``None``: its default)."""
    settings = {"tile": tile, "base_size": base_size}
    return {k: v for k, v in settings.items() if v and k in METHOD_TABLE[method].options}


def problem_line(path: Path, error: BaseException) -> str:
    """The CLI's one-line report of ``error`` for the upload at ``path``, by its file name."""
    return batch.problem_line(path, error).replace(str(path), path.name)


def zoom(
    images: list[tuple[Image.Image, str]], x: float, y: float, side: int
) -> list[tuple[Image.Image, str]]:
    """The same ``side``-pixel square of each image, centred near (``x``, ``y``) (fractions
    of the width and height), enlarged to :data:`ZOOM_SIDE` pixels; captions kept."""
    crops = []
    for image, caption in images:
        width, height = min(side, image.width), min(side, image.height)
        left = min(max(0, round(x * image.width - width / 2)), image.width - width)
        top = min(max(0, round(y * image.height - height / 2)), image.height - height)
        crop = image.crop((left, top, left + width, top + height))
        size = scale_long_side(width, height, ZOOM_SIDE)
        crops.append((crop.resize(size, Image.Resampling.NEAREST), caption))
    return crops
