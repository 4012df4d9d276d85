"""Colorization: predict the ab channels of CIE Lab from L, with kornia's colour conversions.

Normalisation as in the pix2pix colorization tutorials: ``L / 50 - 1`` in [-1, 1] and
``ab / 110`` in about [-1, 1].
"""

from __future__ import annotations

import torch
from einops import rearrange
from kornia.color import lab_to_rgb, rgb_to_lab

from ..lab import AB_SCALE, BISECTION_STEPS, GAMUT_TOLERANCE, L_SCALE
from ..metrics import check_rgb, colourfulness, hue_hits
from ..registry import register_task
from .base import Task

_LUMINANCE_WEIGHTS = (0.212671, 0.715160, 0.072169)  # Y of linear sRGB (kornia's rgb_to_xyz)


@register_task("colorization")
class ColorizationTask(Task):
    """Greyscale → colour. Input: normalised L (1 channel); output: normalised ab (2).

    The reference output is grey (ab = 0): metrics ``*_grey``.
    """

    in_channels = 1
    out_channels = 2
    target_name = "ab"
    reference_name = "grey"
    pixelwise = True

    def prepare(
        self, rgb: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Split ``B×3×H×W`` RGB in [0, 1] into normalised ``(L, ab)`` (nothing random)."""
        lab = rgb_to_lab(check_rgb(rgb))
        return lab[:, :1] / L_SCALE - 1.0, lab[:, 1:] / AB_SCALE

    def luminance(self, image: torch.Tensor) -> torch.Tensor:
        """Normalised L of a ``B×1×H×W`` grey or ``B×3×H×W`` RGB image in [0, 1]."""
        if image.ndim == 4 and image.shape[1] == 1:
            image = image.expand(-1, 3, -1, -1)
        return lightness(check_rgb(image)) / L_SCALE - 1.0

    def inputs(self, rgb: torch.Tensor) -> torch.Tensor:
        """Normalised L of the photo (see :meth:`luminance`)."""
        return self.luminance(rgb)

    def render(self, L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] from normalised L and ab, keeping L exactly.

        Colours outside the sRGB gamut are brought inside by shrinking their chroma (ab)
        towards grey at constant L, instead of clipping RGB, which would change L.
        """
        lab = torch.cat([(L.float() + 1.0) * L_SCALE, ab.float() * AB_SCALE], dim=1)
        lab[:, :1] = lab[:, :1].clamp(0.0, 100.0)
        return fit_into_gamut(lab)

    def reference(self, inputs: torch.Tensor) -> torch.Tensor:
        """Grey: ab = 0."""
        return inputs.new_zeros(inputs.shape[0], self.out_channels, *inputs.shape[-2:])

    def extra_scores(
        self,
        rgb: torch.Tensor,
        truth_rgb: torch.Tensor,
        outputs: torch.Tensor,
        targets: torch.Tensor,
    ) -> dict[str, float]:
        """Colourfulness (Hasler and Süsstrunk) of prediction and photo, and hue hits."""
        hits, saturated = hue_hits(outputs * AB_SCALE, targets * AB_SCALE)
        return {
            "colourfulness": colourfulness(rgb),
            "colourfulness_truth": colourfulness(truth_rgb),
            "hue_hits": float(hits),
            "hue_saturated": float(saturated),
        }

    def summarize(self, means: dict[str, float]) -> dict[str, float]:
        """Adds ``colourfulness_ratio`` (to the photos') and ``hue_hit_rate`` (pooled over
        pixels: hits / truly saturated pixels, see :func:`~pyramidrefine.metrics.hue_hits`)."""
        summary = {k: v for k, v in means.items() if k not in ("hue_hits", "hue_saturated")}
        truth = means.get("colourfulness_truth", 0.0)
        summary["colourfulness_ratio"] = means["colourfulness"] / truth if truth else 0.0
        saturated = means.get("hue_saturated", 0.0)
        summary["hue_hit_rate"] = means["hue_hits"] / saturated if saturated else 0.0
        return summary


def lightness(rgb: torch.Tensor) -> torch.Tensor:
    """``B×1×H×W`` L of Lab (kornia's ``rgb_to_lab``, D65) of ``B×3×H×W`` sRGB in [0, 1].

    From the luminance Y alone (L needs no X or Z); a grey image expanded to three
    channels (a view) is linearised once.
    """
    grey = rgb.stride(1) == 0
    linear_rgb = rgb[:, :1] if grey else rgb
    linear_rgb = torch.where(
        linear_rgb > 0.04045,
        ((linear_rgb + 0.055).clamp(min=0.0) / 1.055).pow(2.4),
        linear_rgb / 12.92,
    )
    weights = linear_rgb.new_tensor(_LUMINANCE_WEIGHTS)
    if grey:
        y = linear_rgb * weights.sum()
    else:
        y = torch.einsum("bchw,c->bhw", linear_rgb, weights)[:, None]
    threshold = 0.008856
    f = torch.where(y > threshold, y.clamp(min=threshold).pow(1 / 3), 7.787 * y + 4 / 29)
    return 116.0 * f - 16.0


def fit_into_gamut(lab: torch.Tensor) -> torch.Tensor:
    """sRGB of ``B×3×H×W`` Lab, scaling ab of out-of-gamut pixels down (bisection) at fixed L."""
    rgb = lab_to_rgb(lab, clip=False)
    outside = rearrange(~_in_gamut(rgb), "b h w -> (b h w)")
    if not outside.any():
        return rgb.clamp(0.0, 1.0)
    batch, _, height, width = lab.shape
    pixels = rearrange(lab, "b c h w -> (b h w) c")[outside]
    low = pixels.new_zeros(len(pixels), 1)  # chroma scale known to be inside
    high = pixels.new_ones(len(pixels), 1)
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        inside = _in_gamut(_pixels_to_rgb(_scale_chroma(pixels, middle)))[0, :, 0, None]
        low = torch.where(inside, middle, low)
        high = torch.where(inside, high, middle)
    flat_rgb = rearrange(rgb, "b c h w -> (b h w) c").clone()
    flat_rgb[outside] = rearrange(_pixels_to_rgb(_scale_chroma(pixels, low)), "1 c n 1 -> n c")
    rgb = rearrange(flat_rgb, "(b h w) c -> b c h w", b=batch, h=height, w=width)
    return rgb.clamp(0.0, 1.0)


def _scale_chroma(pixels: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return torch.cat([pixels[:, :1], pixels[:, 1:] * scale], dim=1)


def _pixels_to_rgb(pixels: torch.Tensor) -> torch.Tensor:
    return lab_to_rgb(rearrange(pixels, "n c -> 1 c n 1"), clip=False)


def _in_gamut(rgb: torch.Tensor) -> torch.Tensor:
    return ((rgb >= -GAMUT_TOLERANCE) & (rgb <= 1 + GAMUT_TOLERANCE)).all(dim=1)
