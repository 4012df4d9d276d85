"""OnnxColorizer: torch-free colorize of an export; its NumPy Lab conversions agree with
kornia's, and its photos with Colorizer's."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from kornia.color import lab_to_rgb, rgb_to_lab
from PIL import Image

import pyramidrefine as pr
from pyramidrefine import lab
from pyramidrefine.errors import ConfigurationError, InvalidInputError
from pyramidrefine.export import export
from pyramidrefine.onnx_colorizer import OnnxColorizer
from pyramidrefine.tasks.colorization import fit_into_gamut


def channels_first(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)[None]


def channels_last(tensor: torch.Tensor) -> np.ndarray:
    return tensor[0].permute(1, 2, 0).numpy()


@pytest.fixture
def random_lab() -> np.ndarray:
    rng = np.random.default_rng(1)
    shape = (48, 40)
    channels = [
        rng.uniform(0, 100, shape),
        rng.uniform(-110, 110, shape),
        rng.uniform(-110, 110, shape),
    ]
    return np.stack(channels, -1).astype(np.float32)


def test_rgb_to_lab_matches_kornia() -> None:
    rgb = np.random.default_rng(0).random((48, 40, 3), dtype=np.float32)
    rgb[0, :3], rgb[1, :3] = 0.0, 1.0  # black and white
    expected = channels_last(rgb_to_lab(channels_first(rgb)))
    assert np.abs(lab.rgb_to_lab(rgb) - expected).max() < 1e-3


@pytest.mark.parametrize("clip", [True, False])
def test_lab_to_rgb_matches_kornia(random_lab, clip) -> None:
    expected = channels_last(lab_to_rgb(channels_first(random_lab), clip=clip))
    assert np.abs(expected).max() > (1.0 if not clip else 0.0)  # out-of-gamut colours met
    assert np.abs(lab.lab_to_rgb(random_lab, clip=clip) - expected).max() < 1e-4


def test_gamut_fit_matches_the_colorization_task(random_lab) -> None:
    expected = channels_last(fit_into_gamut(channels_first(random_lab)))
    fitted = lab.fit_into_gamut(random_lab)
    assert np.abs(fitted - expected).max() < 1e-3
    lightness = lab.rgb_to_lab(fitted)[..., 0]
    assert np.abs(lightness - random_lab[..., 0]).max() < 0.05  # L kept, chroma given up


@pytest.fixture
def exported(tiny_colorizer, tmp_path):
    export(tiny_colorizer, tmp_path / "onnx")
    return tmp_path / "onnx"


def test_matches_colorizer(tiny_colorizer, exported) -> None:
    rng = np.random.default_rng(2)
    photo = Image.fromarray((rng.random((37, 53, 3)) * 255).astype(np.uint8))
    expected = np.asarray(
        pr.Colorizer(tiny_colorizer, backend="torch", precision="fp32")(photo), np.int16
    )
    coloured = OnnxColorizer(exported)(photo)
    assert coloured.mode == "RGB" and coloured.size == photo.size
    assert np.abs(np.asarray(coloured, np.int16) - expected).max() <= 1


def test_a_large_photo_is_predicted_at_the_network_side_as_by_the_colorizer(
    tiny_colorizer, exported
) -> None:
    rng = np.random.default_rng(3)
    photo = Image.fromarray((rng.random((90, 150)) * 255).astype(np.uint8))
    options = {"backend": "torch", "precision": "fp32", "max_network_side": 64}
    expected = np.asarray(pr.Colorizer(tiny_colorizer, **options)(photo), np.int16)
    capped = np.asarray(OnnxColorizer(exported, max_network_side=64)(photo), np.int16)
    whole = np.asarray(OnnxColorizer(exported, max_network_side=None)(photo), np.int16)
    assert capped.shape == (90, 150, 3)
    assert np.abs(capped - expected).max() <= 1
    assert np.abs(whole - expected).max() > 1  # the cap changed what the network saw
    with pytest.raises(ConfigurationError, match="max_network_side must be None"):
        OnnxColorizer(exported, max_network_side=8)


def test_inputs_and_one_line_errors(exported, tmp_path) -> None:
    colorizer = OnnxColorizer(exported)
    grey = np.full((20, 30), 0.5, np.float32)
    Image.fromarray((grey * 255).astype(np.uint8)).save(tmp_path / "grey.png")
    for image in (grey, grey[..., None], tmp_path / "grey.png", str(tmp_path / "grey.png")):
        assert colorizer(image).size == (30, 20)
    with pytest.raises(InvalidInputError, match="got shape"):
        colorizer(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(InvalidInputError, match=r"in \[0, 1\]"):
        colorizer(grey + 1.0)


def test_refuses_an_export_that_is_not_a_colorizer(tmp_path) -> None:
    denoiser = pr.CoarseToFine("unet", in_channels=3, out_channels=3, levels=1, base_channels=4)
    export(denoiser.eval(), tmp_path / "denoiser")
    with pytest.raises(ConfigurationError, match="not a colorizer"):
        OnnxColorizer(tmp_path / "denoiser")


def test_runs_without_importing_torch(exported) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from pyramidrefine.onnx_colorizer import OnnxColorizer
        image = OnnxColorizer({str(exported)!r})(np.full((24, 40), 128, np.uint8))
        assert image.size == (40, 24), image.size
        loaded = sorted(name for name in sys.modules if name.split(".")[0] == "torch")
        print("torch modules:", loaded)
        assert not loaded
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
