"""``pyramidrefine predict``: any task's model applied to files, with colorize's file handling."""

import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.cli import main

TASK_FILE = """
import torch
from pyramidrefine import Task, register_task


@register_task("{name}")
class Brighten(Task):
    in_channels = 3
    out_channels = 3

    def inputs(self, rgb):
        return rgb

    def render(self, inputs, outputs):
        return (inputs + 0.0 * outputs + 0.25).clamp(0, 1)
"""


@pytest.fixture
def denoiser_dir(tmp_path):
    model = pr.CoarseToFine(
        "unet", in_channels=3, out_channels=3, levels=2, base_channels=4, depth=2
    )
    model.save_pretrained(tmp_path / "denoiser")
    (tmp_path / "denoiser" / "training.yaml").write_text(
        "task: denoising\ntask_kwargs: {sigma: [10, 10], jpeg_quality: null}\n"
    )
    return tmp_path / "denoiser"


def write_photo(path, size=(24, 20)):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.random.default_rng(0).random((size[1], size[0], 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_predict_applies_a_denoiser_to_rgb_photos(denoiser_dir, tmp_path, capsys):
    photos = [
        write_photo(tmp_path / "in" / "a.png"),
        write_photo(tmp_path / "in" / "b.png", (17, 9)),
    ]
    out = tmp_path / "out"
    assert (
        main(["predict", "--model", str(denoiser_dir), str(tmp_path / "in"), "--out", str(out)])
        == 0
    )
    assert "2 written, 0 failed" in capsys.readouterr().out
    model = pr.CoarseToFine.from_pretrained(denoiser_dir).eval()
    task = pr.DenoisingTask()
    for photo in photos:
        with Image.open(photo) as before, Image.open(out / f"{photo.stem}_pred.png") as after:
            assert after.size == before.size and after.mode == "RGB"
            rgb = torch.from_numpy(np.asarray(before, np.float32) / 255).permute(2, 0, 1)[None]
            with torch.no_grad():
                inputs = task.inputs(rgb)
                expected = task.render(inputs, model(inputs))[0].permute(1, 2, 0).numpy() * 255
            assert np.abs(np.asarray(after, np.float32) - expected).max() <= 1.0
    assert (
        main(["predict", "--model", str(denoiser_dir), str(tmp_path / "in"), "--out", str(out)])
        == 0
    )
    assert "0 written, 2 skipped (exists), 0 failed" in capsys.readouterr().out


def test_predict_reports_bad_files_and_goes_on(denoiser_dir, tmp_path, capsys):
    write_photo(tmp_path / "in" / "good.png")
    (tmp_path / "in" / "bad.png").write_bytes(b"not an image")
    code = main(
        [
            "predict",
            "--model",
            str(denoiser_dir),
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert f"{tmp_path / 'in' / 'bad.png'}: not a readable image" in captured.err
    assert "1 written, 1 failed" in captured.out
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["good_pred.png"]


def test_colorize_with_a_denoiser_points_to_predict(denoiser_dir, tmp_path, capsys):
    photo = write_photo(tmp_path / "a.png")
    assert (
        main(["colorize", str(photo), "--out", str(tmp_path / "o"), "--model", str(denoiser_dir)])
        == 2
    )
    error = capsys.readouterr().err
    assert "maps 3 to 3" in error and "pyramidrefine predict --model" in error
    assert len(error.splitlines()) == 1


def test_predict_with_a_colorizer_matches_colorize(tiny_colorizer, tmp_path, capsys):
    tiny_colorizer.save_pretrained(tmp_path / "colorizer")
    photo = write_photo(tmp_path / "a.png")
    model = str(tmp_path / "colorizer")
    assert main(["predict", "--model", model, str(photo), "--out", str(tmp_path / "p")]) == 0
    assert main(["colorize", "--model", model, str(photo), "--out", str(tmp_path / "c")]) == 0
    with (
        Image.open(tmp_path / "p" / "a_pred.png") as p,
        Image.open(tmp_path / "c" / "a_color.png") as c,
    ):
        assert np.array_equal(np.asarray(p), np.asarray(c))


def test_a_task_from_an_imported_file_can_be_applied(tmp_path, capsys):
    module = tmp_path / "brighten_task.py"
    module.write_text(TASK_FILE.format(name="brighten-test"))
    model = pr.CoarseToFine(
        "unet", in_channels=3, out_channels=3, levels=1, base_channels=4, depth=2
    )
    model.save_pretrained(tmp_path / "m")
    photo = write_photo(tmp_path / "a.png")
    args = ["--model", str(tmp_path / "m"), "--task", "brighten-test", str(photo)]
    assert main(["predict", *args, "--out", str(tmp_path / "o1")]) == 2
    assert "unknown task 'brighten-test'" in capsys.readouterr().err
    (tmp_path / "m" / "training.yaml").write_text("task: brighten-test\n")
    assert main(["predict", *args[:2], str(photo), "--out", str(tmp_path / "o1")]) == 2
    assert "is not registered here; import the file or module" in capsys.readouterr().err
    assert main(["--import", str(module), "predict", *args, "--out", str(tmp_path / "o1")]) == 0
    assert main(["predict", "--import", str(module), *args, "--out", str(tmp_path / "o2")]) == 0
    with Image.open(photo) as before, Image.open(tmp_path / "o2" / "a_pred.png") as after:
        brighter = np.clip(np.asarray(before, np.float32) + 0.25 * 255, 0, 255)
        assert np.abs(np.asarray(after, np.float32) - brighter).max() <= 1.0


def test_a_task_without_inputs_cannot_be_applied(tmp_path):
    class Bare(pr.Task):
        in_channels = 3
        out_channels = 3

    model = pr.CoarseToFine(
        "unet", in_channels=3, out_channels=3, levels=1, base_channels=4, depth=2
    )
    with pytest.raises(pr.ConfigurationError, match=r"no inputs\(rgb\) method"):
        pr.Pipeline(model, task=Bare())
