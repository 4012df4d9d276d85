"""``colorize`` and ``predict``: pictures in, a model's task's pictures out, any input kind."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from PIL import Image

from .backends import Backend, select_backend
from .choices import DEFAULT_MAX_NETWORK_SIDE, check_network_side
from .devices import resolve_device
from .errors import ConfigurationError
from .fusion import fold_pyramid
from .hardware import (
    MemoryBudget,
    Precision,
    autocast,
    resolve_memory_budget,
    resolve_precision,
)
from .hint_propagation import propagate_hints
from .hints import GUIDE_CHANNELS, HintLike, parse_hints, render_guide, takes_hints
from .images import ImageLike, from_tensor, quantise, to_tensor, unit_float
from .methods import apply_method, shrink_to_long_side
from .pretrained import load_model, model_task
from .profiling import rss_mb
from .pyramid import CoarseToFine
from .registry import create_task
from .tasks import ColorizationTask, Task
from .tile_planner import reserved_memory
from .tiling import resize, resize_rows

ModelLike = CoarseToFine | str | os.PathLike | None
# Bytes of temporaries per pixel of the colour conversions (L from RGB, RGB from Lab with
# the gamut fit; measured: docs/benchmarks.md, "Measured facts behind constants"). They are
# pixelwise, so they run in bands of at most COLOUR_BAND_BYTES of temporaries.
COLOUR_BYTES_PER_PIXEL = 160
COLOUR_BAND_BYTES = 256 * 1024**2
# Bytes per pixel of the photo's full-size buffers during a call, which the memory budget
# counts besides the runtime: the picture in and out (uint8 RGB, 3 + 3), its tensor (3),
# L (4), the prediction (ab, 8) and the result (3).
FULL_SIZE_BYTES_PER_PIXEL = 24


class Pipeline:
    """A model and its task, an inference method, a device and a precision, for many images.

    Photos go in (any :data:`~pyramidrefine.images.ImageLike`), the task's rendering of the
    model's output comes out, in the kind given. ``model`` is a ``CoarseToFine``, or a name
    (:func:`~pyramidrefine.pretrained.list_models`), folder or Hub id for
    :func:`~pyramidrefine.pretrained.load_model`. ``task`` is a :class:`Task` or a
    registered name; default: the one the model was trained on
    (:func:`~pyramidrefine.pretrained.model_task`; a ``CoarseToFine`` given as an object:
    colorization). The other arguments are those of :func:`colorize`; they are checked
    (and the model loaded) once here, and ``precision``, ``memory_budget`` and ``backend``
    resolved (attributes ``precision``: fp32 or bf16, ``memory_budget``: bytes or ``None``,
    ``backend``: torch, onnxruntime or auto). The model runs as a copy with BatchNorm
    folded into its convolutions (:func:`~pyramidrefine.fusion.fold_pyramid`); ``model``
    itself is left as it was. ``predict`` is the inference method on that copy (torch);
    ``runner`` what a call runs: ``predict``, or its onnxruntime or ``auto`` counterpart.
    A colorization model with guide channels (``guide_channels``) takes colour hints
    (:mod:`~pyramidrefine.hints`).
    """

    def __init__(
        self,
        model: CoarseToFine | str | os.PathLike = "default",
        *,
        task: Task | str | None = None,
        method: str = "pyramid",
        tile: int | None = None,
        overlap: int | None = None,
        base_size: int | None = None,
        device: str | torch.device | None = None,
        precision: Precision = "auto",
        memory_budget: MemoryBudget = "auto",
        backend: Backend = "auto",
        max_network_side: int | None = None,
    ) -> None:
        check_network_side(max_network_side)
        if not isinstance(task, Task):
            named = task is not None or isinstance(model, CoarseToFine)
            task = create_task(task or "colorization") if named else model_task(model)
        if not isinstance(model, CoarseToFine):
            model = load_model(model)
        self.task = task
        self._check(model)
        self.guide_channels = model.guide_channels
        if device is None:
            device = next(model.parameters()).device
        self.device = torch.device(resolve_device(device, what="device="))
        self.precision = resolve_precision(precision, self.device)
        self.memory_budget = resolve_memory_budget(memory_budget, self.device)
        # NHWC convolutions are faster in oneDNN (CPU) and on tensor cores (GPU).
        model = fold_pyramid(model).to(self.device, memory_format=torch.channels_last)

        def predictor(model: CoarseToFine) -> Callable[[torch.Tensor], torch.Tensor]:
            return apply_method(
                model,
                method,
                tile=tile,
                overlap=overlap,
                base_size=base_size,
                memory_budget=self.memory_budget,
            )

        self.predict = predictor(model)  # the method on the torch model
        self.runner, self.backend = select_backend(
            backend,
            model,
            self.predict,
            predictor,
            device=self.device,
            precision=self.precision,
            forced_precision=precision == "bf16",
            autocast=self.autocast,
        )
        if self.backend == "onnxruntime":
            self.precision = "fp32"  # the exported graph's
        resident = rss_mb()  # the runtime and the model, held throughout (NaN: unknown)
        self.runtime_bytes = 0 if math.isnan(resident) else int(resident * 2**20)
        self.max_network_side = max_network_side

    def __call__(
        self, image: ImageLike, hints: Iterable[HintLike] | None = None
    ) -> Image.Image | np.ndarray | torch.Tensor:
        """The task's output for ``image``, of the kind it was given; ``hints``: colour hints
        ``(x, y, colour)`` or ``(x, y, colour, size)`` in ``image``'s pixels (see
        :mod:`~pyramidrefine.hints`), for models with guide channels."""
        rgb, kind = to_tensor(image, keep_uint8=True)  # 8-bit pictures stay 8-bit
        if rgb.shape[1] == 1:
            rgb = rgb.expand(-1, 3, -1, -1)
        size = rgb.shape[-2:]
        guide = None if hints is None else self.guide(hints, rgb.shape[0], *size)
        eight_bit = kind.kind == "pil" or kind.dtype == np.uint8
        held = self.runtime_bytes + FULL_SIZE_BYTES_PER_PIXEL * rgb[:, 0].numel()
        with torch.inference_mode(), reserved_memory(held):
            inputs = self._in_bands(
                lambda band: self.task.inputs(unit_float(band)), rgb, to=self.device
            )
            del rgb
            with self.autocast():
                outputs = self.predict_at_network_side(inputs, guide)
            render = self.task.render
            result = self._in_bands(
                (lambda *bands: quantise(render(*bands))) if eight_bit else render,
                inputs,
                outputs,
                to=torch.device("cpu"),
            )
        return from_tensor(result, kind)

    def predict_at_network_side(
        self, inputs: torch.Tensor, guide: torch.Tensor | None
    ) -> torch.Tensor:
        """The runner's prediction for ``inputs``, made on them shrunk to
        ``max_network_side`` where they are larger (the caller upsamples it, band by band)."""
        if self.max_network_side is not None:
            inputs, guide = shrink_to_long_side(inputs, guide, self.max_network_side)
        if guide is None:
            return self.runner(inputs)
        if not self.guide_channels:  # a colorizer without guide channels: hints spread
            return propagate_hints(inputs, self.runner(inputs), guide)
        return self.runner(inputs, guide=guide)

    def guide(
        self, hints: Iterable[HintLike], batch: int, height: int, width: int
    ) -> torch.Tensor | None:
        """The ``batch×3×height×width`` guide of ``hints`` on the device (``None``: no
        hint); one-line errors for bad hints and for models that take none."""
        checked = parse_hints(hints, width, height)
        if not checked:
            return None
        self.check_takes_hints()
        guide = torch.from_numpy(render_guide(checked, height, width))
        return guide.to(self.device).expand(batch, -1, -1, -1)

    def check_takes_hints(self) -> None:
        """Refuse (one line) unless the model is a colorizer with the hints' guide channels
        or with none (its hints are spread, :mod:`~pyramidrefine.hint_propagation`)."""
        colorizer = isinstance(self.task, ColorizationTask)
        if not colorizer or not takes_hints(self.guide_channels):
            this = f"takes a guide of {self.guide_channels} channels" if colorizer else "is not"
            raise ConfigurationError(
                f"this model takes no colour hints (they need a colorizer with "
                f"{GUIDE_CHANNELS} guide channels or none; this one {this}); run it without "
                "hints (docs/hints.md)"
            )

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on the device when the precision is bf16, else nothing."""
        return autocast(self.device, self.precision)

    def mismatch(self, model: CoarseToFine) -> str:
        """The error for a model whose channels are not the task's."""
        name = type(self.task).__name__
        return (
            f"{name} maps {self.task.in_channels} channels to {self.task.out_channels}; this "
            f"model maps {model.in_channels} to {model.out_channels}; pass the task it was "
            "trained on (task=..., CLI: --task NAME)"
        )

    def _check(self, model: CoarseToFine) -> None:
        task = self.task
        if (model.in_channels, model.out_channels) != (task.in_channels, task.out_channels):
            raise ConfigurationError(self.mismatch(model))
        if type(task).inputs is Task.inputs:
            raise ConfigurationError(
                f"{type(task).__name__} has no inputs(rgb) method (how a photo becomes the "
                "model's input), so it cannot be applied to photos; add one to the task"
            )

    def _in_bands(
        self, fn: Callable[..., torch.Tensor], *images: torch.Tensor, to: torch.device
    ) -> torch.Tensor:
        """``fn`` of ``images`` computed on the device; in bands of rows for pixelwise tasks.
        Images smaller than the first are upsampled to its size (bilinear), band by band."""
        batch, _, height, width = images[0].shape
        band_bytes = min(COLOUR_BAND_BYTES, self.memory_budget or COLOUR_BAND_BYTES)
        rows = max(1, band_bytes // (COLOUR_BYTES_PER_PIXEL * batch * width))
        if self.memory_budget is None or rows >= height or not self.task.pixelwise:
            whole = (resize(image, (height, width)).to(self.device) for image in images)
            return fn(*whole).to(to)
        output = None
        for top in range(0, height, rows):
            band = fn(
                *(
                    resize_rows(image, (height, width), top, rows).to(self.device)
                    for image in images
                )
            )
            if output is None:
                output = band.new_empty((batch, band.shape[1], height, width), device=to)
            output[..., top : top + rows, :] = band
        return output


class Colorizer(Pipeline):
    """A colorizer, an inference method, a device and a precision, ready for many images.

    Arguments as for :func:`colorize` (``model=None``: the shipped colorizer); a
    :class:`Pipeline` whose task is colorization.
    """

    def __init__(self, model: ModelLike = None, **options: Any) -> None:
        model = "default" if model is None else model
        options.setdefault("max_network_side", DEFAULT_MAX_NETWORK_SIDE)
        super().__init__(model, task=ColorizationTask(), **options)

    def mismatch(self, model: CoarseToFine) -> str:
        """Colorizers map L to ab; other models go through :class:`Pipeline` / ``predict``."""
        return (
            f"a colorizer maps 1 channel (L) to 2 (ab); this model maps {model.in_channels} "
            f"to {model.out_channels}; apply other tasks' models with pyramidrefine.Pipeline "
            "(CLI: pyramidrefine predict --model MODEL)"
        )


def colorize(
    image: ImageLike,
    model: ModelLike = None,
    *,
    hints: Iterable[HintLike] | None = None,
    **options: Any,
) -> Image.Image | np.ndarray | torch.Tensor:
    """Colour ``image`` with ``model``; returns the kind it was given.

    ``image`` may be a PIL image, a path (returned as a PIL image), a NumPy array
    (``H×W``, ``H×W×1`` or ``H×W×3``; uint8 or float in [0, 1]) or a float tensor
    (``C×H×W`` or ``B×C×H×W`` in [0, 1]). Colour inputs are reduced to their luminance
    first. The result has the input's size and exactly its luminance (L of Lab).
    ``model`` is a ``CoarseToFine`` with 1 input and 2 output channels, a directory or
    Hub id for :func:`load_colorizer`, or ``None`` for the colorizer shipped with the
    package. ``options`` are the keywords of :class:`Pipeline` but ``task``: ``method``
    (default ``"pyramid"``), ``tile``, ``overlap`` and ``base_size`` choose how the weights
    run (see :func:`pyramidrefine.methods.apply_method`); ``device`` (default: the
    model's). ``precision`` (default ``"auto"``): ``"auto"`` runs the network under
    bfloat16 autocast where that is fast (CUDA GPUs with bf16, CPUs with AVX512-BF16 or
    AMX) and in float32 elsewhere; ``"fp32"`` and ``"bf16"`` force one (bf16 on a CPU
    without native bf16 warns: it is emulated, many times slower). ``memory_budget``
    (default ``"auto"``) bounds the memory of the run: bytes, ``"auto"`` (a quarter of the
    available RAM, at most 1.5 GiB; half the free GPU memory) or ``None`` (unbounded);
    levels that would not fit run tile by tile (every method but ``baseline``), and the
    colour conversions run in bands. The budget counts the process as it was when the
    pipeline was built (the runtime and the model) and the photo's full-size buffers; the
    pyramid plans with the rest (at least 256 MiB). ``backend`` (default ``"auto"``) runs
    the generators in ``"torch"``, in ``"onnxruntime"`` (CPU, float32; the model is
    exported to ONNX once and cached, see :mod:`pyramidrefine.backends`) or, ``"auto"``,
    in whichever was measured faster on this machine for the image's size (torch where
    onnxruntime is not installed, on GPUs and with ``precision="bf16"``); the outputs agree
    within 1e-3.
    ``max_network_side`` (default 4096 for colorizers, ``None`` for :class:`Pipeline`:
    unbounded): a larger input runs the method on a copy shrunk to this long side and its
    prediction (the chroma) is upsampled bilinearly under the full-resolution L.
    ``hints``: colour hints, ``[(x, y, colour), ...]`` with pixel coordinates of ``image``
    and colours ``(r, g, b)`` (0..255) or ``"#rrggbb"`` (see :mod:`~pyramidrefine.hints`),
    for a colorizer fine-tuned with hints (``guide_channels=3``) or, for one without
    guide channels such as the shipped colorizer, spread from the hinted pixels by
    :func:`~pyramidrefine.hint_propagation.propagate_hints`. To colour many images, build
    a :class:`Colorizer` once and call it.
    """
    return Colorizer(model, **options)(image, hints=hints)
