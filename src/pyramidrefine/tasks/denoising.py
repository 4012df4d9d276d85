"""Denoising: restore RGB photos degraded by Gaussian noise and JPEG compression.

The model predicts the residual ``clean - noisy`` (as DnCNN does): its reference output,
zero, renders the noisy input itself, and every level's prior is the correction found so
far at the coarser scale. Inputs are ``2·noisy - 1`` in [-1, 1]; targets ``2·(clean - noisy)``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from ..errors import ConfigurationError
from ..metrics import check_rgb
from ..registry import register_task
from .base import Task

Range = tuple[float, float]


@register_task("denoising")
class DenoisingTask(Task):
    """Noisy RGB → clean RGB, with a configurable noise model.

    Each image gets Gaussian noise of a standard deviation drawn uniformly from ``sigma``
    (in 8-bit units, 0-255), then, if ``jpeg_quality`` is given, JPEG compression at a
    quality drawn uniformly from that range. Reference output: the noisy input, ``*_noisy``.

    Args:
        sigma: ``(min, max)`` noise standard deviation in 8-bit units, or ``None``.
        jpeg_quality: ``(min, max)`` JPEG quality (1-95), or ``None`` for no compression.
    """

    in_channels = 3
    out_channels = 3
    target_name = "residual"
    reference_name = "noisy"
    pixelwise = True

    def __init__(
        self,
        sigma: Sequence[float] | None = (5.0, 50.0),
        jpeg_quality: Sequence[int] | None = (30, 95),
    ) -> None:
        self.sigma = _range("sigma", sigma, 0, 255)
        self.jpeg_quality = _range("jpeg_quality", jpeg_quality, 1, 95)
        if self.sigma is None and self.jpeg_quality is None:
            raise ConfigurationError("denoising needs sigma, jpeg_quality or both")

    def degrade(self, rgb: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The noisy version of ``B×3×H×W`` RGB in [0, 1], drawn from ``generator``."""
        rgb = check_rgb(rgb)
        noisy = rgb.cpu()
        if self.sigma is not None:
            sigma = _uniform(self.sigma, len(rgb), generator) / 255.0
            noise = torch.randn(noisy.shape, generator=generator)
            noisy = (noisy + sigma.view(-1, 1, 1, 1) * noise).clamp(0.0, 1.0)
        if self.jpeg_quality is not None:
            qualities = _uniform(self.jpeg_quality, len(rgb), generator).round().int()
            pairs = zip(noisy, qualities.tolist(), strict=True)
            noisy = torch.stack([_jpeg(image, quality) for image, quality in pairs])
        return noisy.to(rgb.device)

    def prepare(
        self, rgb: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(2·noisy - 1, 2·(clean - noisy))`` for ``B×3×H×W`` clean RGB in [0, 1]."""
        clean = check_rgb(rgb)
        noisy = self.degrade(clean, generator)
        return 2.0 * noisy - 1.0, 2.0 * (clean - noisy)

    def inputs(self, noisy: torch.Tensor) -> torch.Tensor:
        """The model's input for an already noisy ``B×3×H×W`` RGB photo in [0, 1]."""
        return 2.0 * check_rgb(noisy) - 1.0

    def render(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """The restored RGB in [0, 1]: noisy input plus the predicted residual."""
        return ((inputs.float() + 1.0 + outputs.float()) / 2.0).clamp(0.0, 1.0)

    def reference(self, inputs: torch.Tensor) -> torch.Tensor:
        """No correction: renders the noisy input."""
        return torch.zeros_like(inputs)


def _range(name: str, values: Sequence[float] | None, low: float, high: float) -> Range | None:
    if values is None:
        return None
    if isinstance(values, int | float):
        values = (values, values)
    values = tuple(float(v) for v in values)
    if len(values) != 2 or not low <= values[0] <= values[1] <= high:
        raise ConfigurationError(
            f"{name} must be a (min, max) pair with {low} <= min <= max <= {high}, got {values}"
        )
    return values


def _uniform(bounds: Range, count: int, generator: torch.Generator | None) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(count, generator=generator)


def _jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """``3×H×W`` RGB in [0, 1] through an in-memory JPEG round trip (8-bit, 4:2:0)."""
    array = (image.permute(1, 2, 0) * 255.0).round().byte().numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), np.float32)
    return torch.from_numpy(decoded / 255.0).permute(2, 0, 1)
