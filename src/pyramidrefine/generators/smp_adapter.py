"""Adapter for segmentation-models-pytorch: any smp architecture with any smp/timm encoder."""

from __future__ import annotations

from typing import Any

from torch import nn

from ..registry import register_generator
from .local_weights import has_local_weights, load_imagenet_encoder


@register_generator("smp")
def smp_generator(
    in_channels: int,
    out_channels: int,
    arch: str = "unet",
    encoder_name: str = "resnet18",
    encoder_weights: str | None = None,
    head_kernel: int = 3,
    **kwargs: Any,
) -> nn.Module:
    """Build ``smp.create_model(arch, encoder_name, ...)`` with our channel names.

    ``encoder_weights`` defaults to ``None`` (random init, no download). ``"imagenet"`` with
    ``encoder_name="tu-tf_efficientnet_lite0"`` (lite1, lite2) loads the weights from the
    installed extra ``pyramidrefine[pretrained]``, offline; with other encoders smp
    downloads them. A Python caller's extra keyword arguments go to smp unchanged; a saved
    config (``config.json``) passes only the keys :mod:`pyramidrefine.model_config` allows
    for the architecture, never one that makes smp or timm read a file or download.
    ``head_kernel``: kernel size of the output convolution (smp's is 3; 1 is much cheaper
    for a head of many channels, such as a colour-class head's).
    """
    import segmentation_models_pytorch as smp

    local = encoder_weights == "imagenet" and has_local_weights(encoder_name)
    model = smp.create_model(
        arch=arch,
        encoder_name=encoder_name,
        encoder_weights=None if local else encoder_weights,
        in_channels=in_channels,
        classes=out_channels,
        **kwargs,
    )
    if local:
        load_imagenet_encoder(model.encoder, encoder_name)
    head = getattr(model, "segmentation_head", None)
    if head_kernel != 3 and head is not None and isinstance(head[0], nn.Conv2d):
        head[0] = nn.Conv2d(
            head[0].in_channels, out_channels, head_kernel, padding=head_kernel // 2
        )
    return model
