"""Fréchet distance on EfficientNet-Lite0 ImageNet features: realism of colours, offline.

torchmetrics' ``FrechetInceptionDistance`` with a custom feature extractor: the pooled
1280-d features of EfficientNet-Lite0 (weights from the ``pretrained`` extra, no
download) on images resized to 224². It is **not** Inception FID and its values are not
comparable with published FID numbers; the name ``fd_effnet_lite0`` says so.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .generators.local_weights import imagenet_model

FEATURE_NAME = "fd_effnet_lite0"
INPUT_SIZE = 224


class EfficientNetLiteFeatures(nn.Module):
    """``B×3×H×W`` RGB in [0, 1] → ``B×1280`` pooled EfficientNet-Lite0 features."""

    num_features = 1280

    def __init__(self) -> None:
        super().__init__()
        self.model = imagenet_model("tu-tf_efficientnet_lite0").eval()

    @torch.inference_mode()
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(
            rgb.float(),
            size=(INPUT_SIZE, INPUT_SIZE),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        return self.model.forward_head(self.model.forward_features(x * 2 - 1), pre_logits=True)


class FeatureFrechetDistance:
    """Accumulate real and generated images; ``compute()`` gives the Fréchet distance."""

    def __init__(self) -> None:
        from torchmetrics.image.fid import FrechetInceptionDistance

        self.metric = FrechetInceptionDistance(feature=EfficientNetLiteFeatures(), normalize=True)

    def update(self, prediction_rgb: torch.Tensor, target_rgb: torch.Tensor) -> None:
        """Add a batch of predictions and their ground truths (``B×3×H×W`` in [0, 1])."""
        self.metric.update(target_rgb.float().cpu(), real=True)
        self.metric.update(prediction_rgb.float().cpu(), real=False)

    def compute(self) -> float:
        """The distance (needs at least two images)."""
        return float(self.metric.compute())
