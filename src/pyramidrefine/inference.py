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
from .pyramid import CoarseToFine
from .tasks import ColorizationTask

Precision = Literal["fp32", "bf16"]


def colorize(
    image: ImageLike,
    model: CoarseToFine | str | os.PathLike,
    *,
    device: str | torch.device | None = None,
    precision: Precision = "fp32",
) -> Image.Image | np.ndarray | torch.Tensor:
    """Colour ``image`` with ``model``; returns the kind it was given.

    ``image`` may be a PIL image, a path (returned as a PIL image), a NumPy array
    (``H×W``, ``H×W×1`` or ``H×W×3``; uint8 or float in [0, 1]) or a float tensor
    (``C×H×W`` or ``B×C×H×W`` in [0, 1]). Colour inputs are reduced to their luminance
    first. The result has the input's size and exactly its luminance (L of Lab).
    ``model`` is a ``CoarseToFine`` with 1 input and 2 output channels, or a directory /
    Hub id for :meth:`CoarseToFine.from_pretrained`. ``precision="bf16"`` runs the
    network under bfloat16 autocast (about 2× faster on CPUs with AVX-512 bf16).
    """
    if isinstance(model, str | os.PathLike):
        model = CoarseToFine.from_pretrained(model)
    task = ColorizationTask()
    if (model.in_channels, model.out_channels) != (task.in_channels, task.out_channels):
        raise ConfigurationError(
            f"a colorizer maps 1 channel (L) to 2 (ab); this model maps {model.in_channels} "
            f"to {model.out_channels}"
        )
    rgb, kind = to_tensor(image)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(device).eval()
    luminance = task.luminance(rgb.to(device))
    with torch.inference_mode(), _autocast(device, precision):
        ab = model(luminance)
    return from_tensor(task.render(luminance, ab).cpu(), kind)


def _autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    raise ConfigurationError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
