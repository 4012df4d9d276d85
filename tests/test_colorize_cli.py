import os
import stat
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from kornia.color import rgb_to_lab
from PIL import Image, ImageOps

from pyramidrefine import batch, inference, pretrained
from pyramidrefine.cli import main


@pytest.fixture
def model_dir(tiny_colorizer, tmp_path):
    tiny_colorizer.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def write_photo(path, size=(40, 30), mode="RGB", **save_options):
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 3 if mode == "RGB" else 1
    pixels = (np.random.rand(size[1], size[0], channels) * 255).astype(np.uint8).squeeze()
    Image.fromarray(pixels, mode).save(path, **save_options)
    return path


def lightness(image):
    rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32) / 255)
    return rgb_to_lab(rgb.permute(2, 0, 1)[None])[0, 0]


def colorize(*args, model):
    return main(["colorize", *map(str, args), "--model", str(model)])


def test_folder_glob_and_file_inputs_keep_size_and_lightness(tmp_path, model_dir, capsys):
    inputs = [
        write_photo(tmp_path / "folder" / "a.png", mode="L"),
        write_photo(tmp_path / "folder" / "b.png", size=(23, 41)),
        write_photo(tmp_path / "globbed" / "c.png", size=(32, 32)),
        write_photo(tmp_path / "single.png", size=(17, 9)),
    ]
    (tmp_path / "folder" / "notes.txt").write_text("not listed: no image extension")
    out = tmp_path / "out"
    code = colorize(
        tmp_path / "folder",
        tmp_path / "globbed" / "*.png",
        inputs[-1],
        "--out",
        out,
        model=model_dir,
    )
    assert code == 0
    assert "4 coloured, 0 failed" in capsys.readouterr().out
    umask = os.umask(0o022)
    os.umask(umask)
    for source in inputs:
        with Image.open(source) as before, Image.open(out / f"{source.stem}_color.png") as after:
            assert after.size == before.size and after.mode == "RGB"
            assert (lightness(before) - lightness(after)).abs().max() < 1.0
        mode = stat.S_IMODE((out / f"{source.stem}_color.png").stat().st_mode)
        assert mode == 0o666 & ~umask  # as any new file, not owner-only like a temporary one


def test_bad_files_are_reported_and_the_rest_go_on(tmp_path, model_dir, capsys):
    folder = tmp_path / "in"
    write_photo(folder / "good.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "x.png").mkdir()
    out = tmp_path / "out"
    code = colorize(folder, tmp_path / "missing.jpg", "--out", out, model=model_dir)
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.splitlines()
    assert f"{folder / 'corrupt.png'}: not a readable image" in captured.err
    assert f"{folder / 'x.png'}: not a file" in errors
    assert f"{tmp_path / 'missing.jpg'}: no such file" in errors
    assert "1 coloured, 3 failed" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["good_color.png"]


def test_nothing_matching_is_reported(tmp_path, model_dir, capsys):
    (tmp_path / "empty").mkdir()
    code = colorize(
        tmp_path / "empty", tmp_path / "*.jpg", "--out", tmp_path / "out", model=model_dir
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "no images in this folder" in captured.err and "no file matches" in captured.err
    assert "0 coloured, 2 failed" in captured.out


def test_an_input_is_never_overwritten(tmp_path, model_dir, capsys):
    photo = write_photo(tmp_path / "photo.png")
    before = photo.read_bytes()
    assert colorize(photo, "--out", tmp_path, "--suffix", "", model=model_dir) == 1
    assert "is an input" in capsys.readouterr().err
    assert photo.read_bytes() == before


def test_existing_outputs_are_skipped_not_failed(tmp_path, model_dir, capsys):
    photo = write_photo(tmp_path / "photo.png")
    existing = tmp_path / "out" / "photo_color.png"
    existing.parent.mkdir()
    existing.write_bytes(b"keep me")
    assert colorize(photo, "--out", existing.parent, model=model_dir) == 0
    captured = capsys.readouterr()
    assert f"{existing}: skipped (exists)" in captured.out.splitlines()
    assert "0 coloured, 1 skipped (exists), 0 failed" in captured.out
    assert "--overwrite" in captured.out and captured.err.count("\n") <= 1  # the progress bar
    assert existing.read_bytes() == b"keep me"
    assert colorize(photo, "--out", existing.parent, "--overwrite", model=model_dir) == 0
    with Image.open(existing) as image:
        assert image.size == (40, 30)


def test_running_twice_skips_what_is_done_and_colours_what_is_new(tmp_path, model_dir, capsys):
    folder = tmp_path / "photos"
    for name in ("a.png", "b.png"):
        write_photo(folder / name)
    out = tmp_path / "out"
    assert colorize(folder, "--out", out, model=model_dir) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    write_photo(folder / "c.png")
    capsys.readouterr()
    assert colorize(folder, "--out", out, model=model_dir) == 0
    captured = capsys.readouterr().out
    assert "1 coloured, 2 skipped (exists), 0 failed" in captured
    assert f"{out / 'a_color.png'}: skipped (exists)" in captured
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name in first} == first
    assert sorted(p.name for p in out.iterdir()) == ["a_color.png", "b_color.png", "c_color.png"]


def test_output_format_follows_the_extension_or_format(tmp_path, model_dir):
    sources = [
        write_photo(tmp_path / "in" / "a.JPEG", format="JPEG"),
        write_photo(tmp_path / "in" / "b.tif"),
        write_photo(tmp_path / "in" / "c.png"),
    ]
    out = tmp_path / "out"
    assert colorize(*sources, "--out", out, model=model_dir) == 0
    expected = {"a_color.JPEG": "JPEG", "b_color.png": "PNG", "c_color.png": "PNG"}
    assert {p.name: Image.open(p).format for p in out.iterdir()} == expected
    assert colorize(*sources, "--out", out, "--format", "jpg", model=model_dir) == 0
    assert Image.open(out / "b_color.jpg").format == "JPEG"


def test_a_failed_write_leaves_nothing_behind(tmp_path, model_dir, monkeypatch, capsys):
    def half_save(image, path):
        path.write_bytes(b"half an image")
        raise OSError("disk full")

    monkeypatch.setattr(batch, "save_image", half_save)
    photo = write_photo(tmp_path / "photo.png")
    out = tmp_path / "out"
    assert colorize(photo, "--out", out, model=model_dir) == 1
    assert f"{photo}: disk full" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_exif_rotated_jpeg_comes_out_upright(tmp_path, model_dir):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    photo = write_photo(tmp_path / "rotated.jpg", size=(40, 24), exif=exif, quality=95)
    out = tmp_path / "out"
    assert colorize(photo, "--out", out, "--format", "png", model=model_dir) == 0
    with Image.open(photo) as stored, Image.open(out / "rotated_color.png") as result:
        upright = ImageOps.exif_transpose(stored)
        assert result.size == upright.size == (24, 40)
        assert (lightness(upright) - lightness(result)).abs().max() < 1.0


def test_the_default_model_is_used_without_model(tmp_path, model_dir, monkeypatch, capsys):
    photo = write_photo(tmp_path / "photo.png")
    monkeypatch.setattr(pretrained, "default_colorizer_dir", lambda: tmp_path / "absent")
    assert main(["colorize", str(photo), "--out", str(tmp_path / "out")]) == 2
    assert "default colorizer weights are not installed" in capsys.readouterr().err
    monkeypatch.setattr(pretrained, "default_colorizer_dir", lambda: model_dir)
    assert main(["colorize", str(photo), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "photo_color.png").is_file()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--method", "lowres", "--tile", "64"], "'lowres' does not take tile"),
        (["--model", "no/such/folder"], "no such model folder"),
    ],
)
def test_configuration_errors_exit_with_2(tmp_path, model_dir, options, message, capsys):
    photo = write_photo(tmp_path / "photo.png")
    out = tmp_path / "out"
    code = main(["colorize", str(photo), "--out", str(out), "--model", str(model_dir), *options])
    assert code == 2
    assert message in capsys.readouterr().err


def test_usage_errors_and_help(capsys):
    with pytest.raises(SystemExit) as usage:
        main(["colorize", "photo.png", "--out", "out", "--method", "bicubic"])
    assert usage.value.code == 2
    with pytest.raises(SystemExit) as shown:
        main(["colorize", "--help"])
    assert shown.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--out", "--format", "--suffix", "--overwrite", "--method", "--tile"):
        assert flag in text
    for flag in ("--overlap", "--base-size", "--model", "--device", "--precision", "lowres-guided"):
        assert flag in text


def test_precision_and_memory_budget_options(tmp_path, model_dir, monkeypatch, capsys):
    built = []
    untiled = SimpleNamespace(predict=None)  # nothing for check_tiling to refuse
    monkeypatch.setattr(
        inference, "Colorizer", lambda *args, **kwargs: built.append(kwargs) or untiled
    )
    monkeypatch.setattr(batch, "process_file", lambda pipeline, job: None)
    photo = tmp_path / "photo.png"
    main(["colorize", str(photo), "--out", str(tmp_path / "out"), "--model", str(model_dir)])
    options = ["--precision", "fp32", "--memory-budget", "1.5G"]
    main(["colorize", str(photo), "--out", str(tmp_path / "out"), *options])
    main(["colorize", str(photo), "--out", str(tmp_path / "out"), "--memory-budget", "none"])
    assert [(kw["precision"], kw["memory_budget"]) for kw in built] == [
        ("auto", "auto"),
        ("fp32", int(1.5 * 1024**3)),
        ("auto", None),
    ]
    with pytest.raises(SystemExit) as usage:
        main(["colorize", str(photo), "--out", "out", "--memory-budget", "lots"])
    assert usage.value.code == 2
    assert "not a memory size: 'lots'" in capsys.readouterr().err


def test_a_rerun_with_nothing_to_do_loads_no_model_and_no_torch(tmp_path):
    Image.new("L", (16, 12), 90).save(tmp_path / "photo.png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "photo_color.png").write_bytes(b"kept as it is")
    script = (
        "import sys\nfrom pyramidrefine.cli import main\ncode = main(['colorize', 'photo.png', "
        "'--out', 'out', '--model', 'no-such-folder'])\nprint(code, 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "LOCAL_RANK")}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "out/photo_color.png: skipped (exists)" in lines[0]
    assert (
        lines[-2]
        == "0 coloured, 1 skipped (exists), 0 failed (--overwrite replaces existing outputs)"
    )
    assert lines[-1] == "0 False"
    assert (tmp_path / "out" / "photo_color.png").read_bytes() == b"kept as it is"
