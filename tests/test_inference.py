import numpy as np
import pytest
import torch
from kornia.color import rgb_to_lab
from PIL import Image

import pyramidrefine as pr
from pyramidrefine import inference
from pyramidrefine.errors import ConfigurationError
from pyramidrefine.tasks import ColorizationTask


def test_pil_grey_in_pil_colour_out(tiny_colorizer):
    grey = Image.fromarray((np.random.rand(37, 51) * 255).astype(np.uint8))
    out = pr.colorize(grey, model=tiny_colorizer)
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == grey.size
    lab_l = [lab_lightness(np.asarray(image.convert("RGB"))) for image in (grey, out)]
    assert (lab_l[0] - lab_l[1]).abs().max() < 1.0  # L in 0..100; 8-bit rounding only


def lab_lightness(rgb_uint8):
    rgb = torch.from_numpy(np.array(rgb_uint8)).permute(2, 0, 1)[None].float() / 255
    return rgb_to_lab(rgb)[:, 0]


def test_float_tensor_keeps_luminance_exactly(tiny_colorizer):
    rgb = torch.rand(2, 3, 40, 24)
    out = pr.colorize(rgb, model=tiny_colorizer)
    assert isinstance(out, torch.Tensor) and out.shape == rgb.shape
    torch.testing.assert_close(rgb_to_lab(out)[:, :1], rgb_to_lab(rgb)[:, :1], atol=1e-3, rtol=0)


@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 1), (20, 30, 3)])
def test_numpy_in_numpy_out(tiny_colorizer, shape):
    image = (np.random.rand(*shape) * 255).astype(np.uint8)
    out = pr.colorize(image, model=tiny_colorizer)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (20, 30, 3)
    out_float = pr.colorize(image.astype(np.float32) / 255, model=tiny_colorizer)
    assert out_float.dtype == np.float32 and out_float.max() <= 1


def test_path_and_pretrained_directory(tiny_colorizer, tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray((np.random.rand(16, 20, 3) * 255).astype(np.uint8)).save(path)
    tiny_colorizer.save_pretrained(tmp_path / "model")
    out = pr.colorize(path, model=tmp_path / "model")
    assert isinstance(out, Image.Image) and out.size == (20, 16)
    np.testing.assert_array_equal(
        np.asarray(out), np.asarray(pr.colorize(str(path), model=tiny_colorizer))
    )


def test_bf16_is_close_to_fp32(tiny_colorizer):
    rgb = torch.rand(1, 3, 32, 32)
    fp32 = pr.colorize(rgb, model=tiny_colorizer)
    bf16 = pr.colorize(rgb, model=tiny_colorizer, precision="bf16")
    assert (fp32 - bf16).abs().mean() < 0.02


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        (torch.full((1, 8, 8), float("nan")), pr.InvalidInputError, "NaN"),
        (torch.rand(2, 8, 8), pr.InvalidInputError, "C = 1 or 3"),
        (np.zeros((8, 8), dtype=np.int64), pr.InvalidInputError, "uint8 or float"),
        (np.full((8, 8), 2.0), pr.InvalidInputError, r"\[0, 1\]"),
        ("does-not-exist.png", pr.ImageReadError, "no such file"),
        (12, pr.InvalidInputError, "got int"),
    ],
)
def test_bad_inputs_get_clear_errors(tiny_colorizer, image, error, message):
    with pytest.raises(error, match=message):
        pr.colorize(image, model=tiny_colorizer)


def test_non_image_file_is_named(tiny_colorizer, tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not a picture")
    with pytest.raises(pr.ImageReadError, match=r"notes\.jpg: not a readable image"):
        pr.colorize(path, model=tiny_colorizer)


def test_model_of_another_task_is_refused():
    model = pr.CoarseToFine("unet", in_channels=3, out_channels=3, levels=1, depth=1)
    with pytest.raises(pr.ConfigurationError, match="1 channel"):
        pr.colorize(torch.rand(3, 8, 8), model=model)


def test_colorizers_run_the_network_up_to_max_network_side():
    model = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    )
    sizes = []
    model.generators[0].register_forward_hook(lambda m, args, out: sizes.append(args[0].shape[-2:]))
    photo = Image.fromarray((np.arange(200 * 300).reshape(200, 300) % 253).astype(np.uint8))
    capped = pr.Colorizer(model.eval(), max_network_side=64, backend="torch", precision="fp32")
    coloured = capped(photo)
    assert coloured.size == photo.size and max(max(s) for s in sizes) <= 64
    lightness = ColorizationTask().luminance  # the full-resolution L is kept
    grey = torch.from_numpy(np.asarray(photo, np.float32) / 255)[None, None]
    result = torch.from_numpy(np.asarray(coloured, np.float32) / 255).permute(2, 0, 1)[None]
    assert (lightness(result) - lightness(grey)).abs().max() < 0.02
    sizes.clear()
    pr.Colorizer(model, max_network_side=None, backend="torch")(photo)
    assert max(max(s) for s in sizes) == 300
    assert pr.Pipeline(model, task="colorization").max_network_side is None  # no limit


@pytest.mark.parametrize("side", [0, 63, 2.5, True, "4096"])
def test_a_bad_max_network_side_is_one_line(side):
    with pytest.raises(ConfigurationError, match="max_network_side must be None"):
        pr.Colorizer(max_network_side=side)


def test_the_upsampled_prediction_is_the_same_in_bands(monkeypatch):
    monkeypatch.setattr(inference, "COLOUR_BAND_BYTES", 160 * 300 * 7)  # bands of 7 rows
    torch.manual_seed(0)
    model = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    ).eval()
    photo = Image.fromarray((np.arange(200 * 300).reshape(200, 300) % 253).astype(np.uint8))
    options = dict(max_network_side=64, backend="torch", precision="fp32")
    banded = np.asarray(pr.Colorizer(model, memory_budget=2**30, **options)(photo), np.int16)
    whole = np.asarray(pr.Colorizer(model, memory_budget=None, **options)(photo), np.int16)
    assert np.abs(banded - whole).max() <= 1
