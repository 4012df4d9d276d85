"""A small plain U-Net: no pretrained parts, few parameters, for tests and compact models."""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional as F

from ..norms import Norm, norm_layer
from ..registry import register_generator


class ConvBlock(nn.Sequential):
    """Two 3×3 convolutions, each followed by normalisation and ReLU."""

    def __init__(self, in_channels: int, out_channels: int, norm: Norm) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=norm == "none"),
            norm_layer(norm, out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=norm == "none"),
            norm_layer(norm, out_channels),
            nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """U-Net with ``depth`` poolings; channels double per level up to ``max_channels``.

    Inputs must have sides divisible by ``required_multiple`` (``2 ** depth``);
    ``CoarseToFine`` pads them for you.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_channels: int = 32,
        depth: int = 4,
        max_channels: int = 256,
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        widths = [min(base_channels * 2**i, max_channels) for i in range(depth + 1)]
        self.required_multiple = 2**depth
        self.stem = ConvBlock(in_channels, widths[0], norm)
        self.down = nn.ModuleList(ConvBlock(a, b, norm) for a, b in itertools.pairwise(widths))
        self.up = nn.ModuleList(
            ConvBlock(deep + skip, skip, norm)
            for deep, skip in zip(widths[:0:-1], widths[-2::-1], strict=False)
        )
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for block in self.down:
            skips.append(block(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        for block in self.up:
            skip = skips.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], dim=1))
        return self.head(y)


@register_generator("unet")
def unet(in_channels: int, out_channels: int, **kwargs) -> UNet:
    """Plain U-Net (see :class:`UNet` for ``base_channels``, ``depth``, ``norm``)."""
    return UNet(in_channels, out_channels, **kwargs)
