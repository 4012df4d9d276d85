"""An example pyramidrefine plugin: a generator ``example_convnet`` and a loss ``charbonnier``."""

from __future__ import annotations

import torch
from torch import nn

from pyramidrefine import register_generator, register_loss


class ConvNet(nn.Module):
    """A plain stack of 3×3 convolutions (no downsampling, so any input size works)."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 32, depth: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        for index in range(depth - 1):
            layers += [nn.Conv2d(in_channels if index == 0 else width, width, 3, padding=1)]
            layers += [nn.ReLU()]
        layers.append(nn.Conv2d(width if depth > 1 else in_channels, out_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@register_generator("example_convnet")
def example_convnet(
    in_channels: int, out_channels: int, width: int = 32, depth: int = 4
) -> ConvNet:
    """Factory: ``CoarseToFine("example_convnet", ...)`` and ``model.generator`` use it.

    Its settings are named parameters: a saved model's config.json may set only those.
    """
    return ConvNet(in_channels, out_channels, width=width, depth=depth)


class Charbonnier(nn.Module):
    """Charbonnier loss, a smooth L1: ``mean(sqrt((x - y)² + eps²))``."""

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.sqrt((prediction - target) ** 2 + self.eps**2).mean()


register_loss("charbonnier")(Charbonnier)
