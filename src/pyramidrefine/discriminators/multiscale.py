"""pix2pixHD multi-scale discriminator: PatchGANs on ever coarser copies of the input."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ConfigurationError
from ..registry import register_discriminator
from .patchgan import PatchGAN


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` PatchGANs; inputs are halved (3×3 average pooling) between scales."""

    def __init__(
        self, in_channels: int, out_channels: int, num_scales: int = 3, **patchgan_kwargs: Any
    ) -> None:
        super().__init__()
        if num_scales < 1:
            raise ConfigurationError(f"num_scales must be at least 1, got {num_scales}")
        self.discriminators = nn.ModuleList(
            PatchGAN(in_channels, out_channels, **patchgan_kwargs) for _ in range(num_scales)
        )

    def forward(self, condition: torch.Tensor, output: torch.Tensor) -> list[torch.Tensor]:
        """One ``B×1×h×w`` logit map per scale, finest first."""
        logits = []
        for i, discriminator in enumerate(self.discriminators):
            if i:
                condition, output = _downsample(condition), _downsample(output)
            logits += discriminator(condition, output)
        return logits


def _downsample(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


@register_discriminator("multiscale")
def multiscale(in_channels: int, out_channels: int, **kwargs) -> MultiScaleDiscriminator:
    """Multi-scale PatchGANs (``num_scales`` plus any :class:`PatchGAN` keyword)."""
    return MultiScaleDiscriminator(in_channels, out_channels, **kwargs)
