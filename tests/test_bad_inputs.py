"""The bad-input corpus: every file is made here; each either works or gets a clear error."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.images import read_image


def _png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes(image, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **kwargs)
    return buffer.getvalue()


def _colour(width=20, height=12):
    rng = np.random.default_rng(0)
    return Image.fromarray((rng.random((height, width, 3)) * 255).astype(np.uint8))


def _write(path, data):
    path.write_bytes(data)
    return path


READABLE = {
    "16bit.png": lambda p: Image.fromarray(
        (np.linspace(0, 65535, 240).reshape(12, 20)).astype(np.uint16)
    ).save(p),
    "float32.tiff": lambda p: Image.fromarray(
        np.linspace(0, 1, 240, dtype=np.float32).reshape(12, 20), mode="F"
    ).save(p),
    "cmyk.jpg": lambda p: _colour().convert("CMYK").save(p),
    "rgba.png": lambda p: _colour().convert("RGBA").save(p),
    "la.png": lambda p: _colour().convert("LA").save(p),
    "palette.png": lambda p: _colour().convert("P").save(p, transparency=0),
    "animated.gif": lambda p: _colour().save(
        p, save_all=True, append_images=[_colour().rotate(90)], duration=100
    ),
    "1x1.png": lambda p: _colour(1, 1).save(p),
    "3x7.png": lambda p: _colour(3, 7).save(p),
}

UNREADABLE = {
    "empty.png": (lambda p: _write(p, b""), "not a readable image"),
    "truncated.png": (lambda p: _write(p, _png_bytes(_colour())[:60]), "not a readable image"),
    "truncated.jpg": (
        lambda p: _write(p, _jpeg_bytes(_colour(64, 64))[:200]),
        "not a readable image",
    ),
    "text.jpg": (lambda p: p.write_text("hello, I am not a picture"), "not a readable image"),
    "folder.png": (lambda p: p.mkdir(), "not a file"),
    "missing.png": (lambda p: None, "no such file"),
}


@pytest.mark.parametrize("name", sorted(READABLE))
def test_readable_odd_images_are_coloured_at_full_size(tmp_path, name, tiny_colorizer):
    path = tmp_path / name
    READABLE[name](path)
    with Image.open(path) as original:
        size = original.size
    out = pr.colorize(path, model=tiny_colorizer)
    assert out.mode == "RGB" and out.size == size


def test_sixteen_bit_keeps_its_range(tmp_path):
    path = tmp_path / "16bit.png"
    READABLE["16bit.png"](path)
    values = np.asarray(read_image(path))
    assert values.min() == 0 and values.max() == 255  # rescaled, not clipped at 255/65535


def test_animated_gif_gives_its_first_frame(tmp_path):
    path = tmp_path / "animated.gif"
    READABLE["animated.gif"](path)
    assert read_image(path).size == (20, 12)  # the second frame is rotated to 12×20


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_inputs_get_one_clear_line(tmp_path, name, tiny_colorizer):
    make, message = UNREADABLE[name]
    path = tmp_path / name
    make(path)
    with pytest.raises(pr.ImageReadError) as error:
        pr.colorize(path, model=tiny_colorizer)
    text = str(error.value)
    assert name in text and message in text and "\n" not in text


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("L", (4000, 3000)).save(path)
    with pytest.raises(pr.ImageReadError, match="over the limit of 1000000"):
        read_image(path, max_pixels=1_000_000)
    assert read_image(path, max_pixels=None).size == (4000, 3000)


def test_exif_rotated_jpeg_comes_upright(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "rotated.jpg"
    _colour(20, 12).save(path, exif=exif)
    assert read_image(path).size == (12, 20)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_tensors_are_refused(value, tiny_colorizer):
    image = torch.rand(3, 8, 8)
    image[0, 2, 3] = value
    with pytest.raises(pr.InvalidInputError, match="NaN or infinite"):
        pr.colorize(image, model=tiny_colorizer)


@pytest.mark.parametrize("shape", [(2, 8, 8), (4, 8, 8), (1, 5, 8, 8)])
def test_wrong_channel_counts_are_refused(shape, tiny_colorizer):
    with pytest.raises(pr.InvalidInputError, match="C = 1 or 3"):
        pr.colorize(torch.rand(shape), model=tiny_colorizer)


def test_the_cli_goes_through_the_whole_corpus(tmp_path, tiny_colorizer, capsys):
    from pyramidrefine.cli import main

    tiny_colorizer.save_pretrained(tmp_path / "model")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, make in READABLE.items():
        make(inputs / name)
    for name, (make, _) in UNREADABLE.items():
        make(inputs / name)
    paths = [*sorted(str(p) for p in inputs.iterdir()), str(inputs / "missing.png")]
    out = tmp_path / "out"
    code = main(["colorize", *paths, "--out", str(out), "--model", str(tmp_path / "model")])
    captured = capsys.readouterr()
    err = captured.err
    assert code == 1
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == len(READABLE)
    assert not [p for p in written if p.startswith(".")]  # no temporary leftovers
    cli_messages = {name: message for name, (_, message) in UNREADABLE.items()}
    cli_messages["folder.png"] = "no images in this folder"  # a folder argument means its images
    for name, message in cli_messages.items():
        assert any(name in line and message in line for line in err.splitlines()), name
    assert f"{len(READABLE)} coloured, {len(UNREADABLE)} failed" in captured.out


def test_an_uncreatable_output_folder_is_a_usage_error(tmp_path, tiny_colorizer, capsys):
    from pyramidrefine.cli import main

    tiny_colorizer.save_pretrained(tmp_path / "model")
    (tmp_path / "file.txt").write_text("not a folder")
    _colour().save(tmp_path / "photo.png")
    code = main(
        [
            "colorize",
            str(tmp_path / "photo.png"),
            "--out",
            str(tmp_path / "file.txt/x"),
            "--model",
            str(tmp_path / "model"),
        ]
    )
    assert code == 2
    assert "cannot create the output folder" in capsys.readouterr().err
