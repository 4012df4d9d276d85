"""Conditional PatchGAN (pix2pix ``NLayerDiscriminator``): one logit per overlapping patch."""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from ..errors import ConfigurationError, InvalidInputError
from ..norms import norm_layer
from ..registry import register_discriminator

Norm = Literal["batch", "instance", "none"]
_KERNEL = 4
_MAX_WIDTH_MULTIPLIER = 8


class PatchGAN(nn.Module):
    """pix2pix discriminator on ``cat(condition, output)``; 70×70 patches with ``n_layers=3``.

    4×4 convolutions, the first ``n_layers`` with stride 2, LeakyReLU(0.2), no normalisation
    on the first layer. With ``spectral_norm=True`` every convolution is spectrally
    normalised and no normalisation layers are used.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_channels: int = 64,
        n_layers: int = 3,
        norm: Norm = "batch",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        _check_arguments(in_channels, out_channels, base_channels, n_layers, norm)
        self.in_channels, self.out_channels, self.n_layers = in_channels, out_channels, n_layers
        if spectral_norm:
            norm = "none"
        widths = [in_channels + out_channels] + [
            base_channels * min(2**i, _MAX_WIDTH_MULTIPLIER) for i in range(n_layers + 1)
        ]
        layers: list[nn.Module] = []
        for i in range(n_layers + 1):
            first, stride = i == 0, 2 if i < n_layers else 1
            layer_norm = "none" if first else norm
            conv = nn.Conv2d(
                widths[i], widths[i + 1], _KERNEL, stride, padding=1, bias=layer_norm != "batch"
            )
            layers += [
                _spectral_norm(conv) if spectral_norm else conv,
                norm_layer(layer_norm, widths[i + 1], instance_affine=False),  # as pix2pix
                nn.LeakyReLU(0.2, inplace=True),
            ]
        head = nn.Conv2d(widths[-1], 1, _KERNEL, 1, padding=1)
        layers.append(_spectral_norm(head) if spectral_norm else head)
        self.model = nn.Sequential(*layers)

    @property
    def min_size(self) -> int:
        """Smallest input side that still gives a 1×1 logit map."""
        return 3 * 2**self.n_layers

    def forward(self, condition: torch.Tensor, output: torch.Tensor) -> list[torch.Tensor]:
        """``[B×1×h×w]`` logits for ``condition`` (B×in×H×W) and ``output`` (B×out×H×W)."""
        self._check_inputs(condition, output)
        return [self.model(torch.cat([condition, output], dim=1))]

    def _check_inputs(self, condition: torch.Tensor, output: torch.Tensor) -> None:
        channels = (self.in_channels, self.out_channels)
        if (
            condition.ndim != 4
            or output.ndim != 4
            or (condition.shape[1], output.shape[1]) != channels
        ):
            raise InvalidInputError(
                f"expected condition B×{channels[0]}×H×W and output B×{channels[1]}×H×W, got "
                f"{tuple(condition.shape)} and {tuple(output.shape)}"
            )
        if condition.shape[0] != output.shape[0] or condition.shape[2:] != output.shape[2:]:
            raise InvalidInputError(
                "condition and output must share batch size and H×W, got "
                f"{tuple(condition.shape)} and {tuple(output.shape)}"
            )
        if min(condition.shape[2:]) < self.min_size:
            raise InvalidInputError(
                f"inputs of {tuple(condition.shape[2:])} are too small for a PatchGAN with "
                f"n_layers={self.n_layers}: sides must be at least {self.min_size}; "
                "use larger crops or fewer layers/scales"
            )


def _check_arguments(
    in_channels: int, out_channels: int, base_channels: int, n_layers: int, norm: str
) -> None:
    if min(in_channels, out_channels, base_channels) < 1:
        raise ConfigurationError(
            "in_channels, out_channels and base_channels must be positive, got "
            f"{in_channels}, {out_channels}, {base_channels}"
        )
    if n_layers < 1:
        raise ConfigurationError(f"n_layers must be at least 1, got {n_layers}")
    if norm not in get_args(Norm):
        raise ConfigurationError(
            f"unknown norm {norm!r}; choose one of {', '.join(map(repr, get_args(Norm)))}"
        )


@register_discriminator("patchgan")
def patchgan(in_channels: int, out_channels: int, **kwargs) -> PatchGAN:
    """Conditional PatchGAN (see :class:`PatchGAN` for ``n_layers``, ``norm``, ...)."""
    return PatchGAN(in_channels, out_channels, **kwargs)
