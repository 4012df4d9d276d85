"""The helpers that twins were merged into: one behaviour for every former copy."""

import io

import pytest
from PIL import Image
from torch import nn

import pyramidrefine as pr
from pyramidrefine.data import is_greyscale, open_image
from pyramidrefine.errors import ImageReadError
from pyramidrefine.geometry import scale_long_side
from pyramidrefine.images import decode_image, read_image


def _png(size=(12, 8), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def test_dataset_values_and_files_share_one_decoder_and_its_pixel_limit(tmp_path):
    with pytest.raises(ImageReadError, match=r"^row 3: 12×8 pixels is over the limit of 50"):
        decode_image(io.BytesIO(_png()), "row 3", max_pixels=50)
    with pytest.raises(ImageReadError, match=r"^row 1: not a readable image"):
        open_image(b"not an image", name="row 1")
    path = tmp_path / "photo.png"
    path.write_bytes(_png())
    with pytest.raises(ImageReadError, match=r"photo.png: 12×8 pixels is over the limit of 50"):
        read_image(path, max_pixels=50)
    assert open_image({"bytes": _png(), "path": "a.png"}).size == read_image(path).size


def test_sixteen_bit_images_count_as_greyscale():
    assert is_greyscale(open_image(_png(mode="I;16")))
    assert not is_greyscale(Image.new("RGB", (4, 4), (200, 10, 10)))


def test_one_norm_layer_keeps_each_models_instance_norm():
    unet = pr.UNet(1, 2, base_channels=4, depth=2, norm="instance")
    patchgan = pr.PatchGAN(1, 2, base_channels=4, n_layers=2, norm="instance")
    affine = {
        name: {m.affine for m in model.modules() if isinstance(m, nn.InstanceNorm2d)}
        for name, model in (("unet", unet), ("patchgan", patchgan))
    }
    assert affine == {"unet": {True}, "patchgan": {False}}  # saved weights keep loading


@pytest.mark.parametrize(
    ("size", "long_side", "enlarge", "expected"),
    [
        ((300, 200), 150, True, (150, 100)),
        ((200, 300), 600, True, (400, 600)),
        ((200, 300), 600, False, (200, 300)),
        ((1000, 1), 10, True, (10, 1)),  # never below one pixel
    ],
)
def test_scale_long_side(size, long_side, enlarge, expected):
    assert scale_long_side(*size, long_side, enlarge=enlarge) == expected
