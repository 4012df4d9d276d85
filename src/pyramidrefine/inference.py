"""``colorize``: greyscale (or colour) pictures in, coloured pictures out, any input kind."""

from __future__ import annotations

import contextlib
import os
from typing import Literal

import numpy as np
import torch
from PIL import Image

from .errors import ConfigurationError
from .images import ImageLike, from_tensor, to_tensor
from .methods import apply_method
from .pretrained import load_colorizer
from .pyramid import CoarseToFine
from .tasks import ColorizationTask

Precision = Literal["fp32", "bf16"]
ModelLike = CoarseToFine | str | os.PathLike | None


class Colorizer:
    """A colorizer, an inference method, a device and a precision, ready for many images.

    Arguments as for :func:`colorize`; they are checked (and the model loaded) once here.
    """

    def __init__(
        self,
        model: ModelLike = None,
        *,
        method: str = "pyramid",
        tile: int | None = None,
        overlap: int | None = None,
        base_size: int | None = None,
        device: str | torch.device | None = None,
        precision: Precision = "fp32",
    ) -> None:
        if precision not in ("fp32", "bf16"):
            raise ConfigurationError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
        if not isinstance(model, CoarseToFine):
            model = load_colorizer(model)
        self.task = ColorizationTask()
        if (model.in_channels, model.out_channels) != (
            self.task.in_channels,
            self.task.out_channels,
        ):
            raise ConfigurationError(
                f"a colorizer maps 1 channel (L) to 2 (ab); this model maps "
                f"{model.in_channels} to {model.out_channels}"
            )
        if device is None:
            device = next(model.parameters()).device
        self.device = torch.device(device)
        self.precision = precision
        model = model.to(self.device).eval()
        self.predict = apply_method(model, method, tile=tile, overlap=overlap, base_size=base_size)

    def __call__(self, image: ImageLike) -> Image.Image | np.ndarray | torch.Tensor:
        """Colour ``image``; returns the kind it was given (see :func:`colorize`)."""
        rgb, kind = to_tensor(image)
        luminance = self.task.luminance(rgb.to(self.device))
        with torch.inference_mode(), _autocast(self.device, self.precision):
            ab = self.predict(luminance)
        return from_tensor(self.task.render(luminance, ab).cpu(), kind)


def colorize(
    image: ImageLike,
    model: ModelLike = None,
    *,
    method: str = "pyramid",
    tile: int | None = None,
    overlap: int | None = None,
    base_size: int | None = None,
    device: str | torch.device | None = None,
    precision: Precision = "fp32",
) -> Image.Image | np.ndarray | torch.Tensor:
    """Colour ``image`` with ``model``; returns the kind it was given.

    ``image`` may be a PIL image, a path (returned as a PIL image), a NumPy array
    (``H×W``, ``H×W×1`` or ``H×W×3``; uint8 or float in [0, 1]) or a float tensor
    (``C×H×W`` or ``B×C×H×W`` in [0, 1]). Colour inputs are reduced to their luminance
    first. The result has the input's size and exactly its luminance (L of Lab).
    ``model`` is a ``CoarseToFine`` with 1 input and 2 output channels, a directory or
    Hub id for :func:`load_colorizer`, or ``None`` for the colorizer shipped with the
    package. ``method``, ``tile``, ``overlap`` and ``base_size`` choose how the weights
    run (see :func:`pyramidrefine.methods.apply_method`). ``precision="bf16"`` runs the
    network under bfloat16 autocast (about 2× faster on CPUs with AVX-512 bf16).
    To colour many images, build a :class:`Colorizer` once and call it.
    """
    return Colorizer(
        model,
        method=method,
        tile=tile,
        overlap=overlap,
        base_size=base_size,
        device=device,
        precision=precision,
    )(image)


def _autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
