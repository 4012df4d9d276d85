"""Progress of one image's pass (levels, tiles) and of colorize/predict over files."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine import progress
from pyramidrefine.cli import main


def test_levels_and_tiles_are_reported_to_the_callback():
    model = pr.CoarseToFine(
        "unet",
        in_channels=1,
        out_channels=2,
        levels=2,
        tile=16,
        overlap=4,
        base_channels=4,
        depth=2,
    ).eval()
    steps = []
    with torch.no_grad(), progress.reporting(steps.append):
        model(torch.zeros(1, 1, 20, 40))
    levels = [(s.level, s.levels) for s in steps if s.tiles_done == 0]
    assert levels == [(0, 2), (1, 2)]
    last_level = [s for s in steps if s.level == 1 and s.tiles_done]
    assert [s.tiles_done for s in last_level] == list(range(1, last_level[0].tiles + 1))
    assert last_level[0].tiles > 1 and str(last_level[-1]).startswith("level 2/2, tile ")
    with torch.no_grad():
        model(torch.zeros(1, 1, 20, 40))  # outside reporting: nothing is called
    assert len(steps) == len(levels) + len([s for s in steps if s.tiles_done])


def test_colorize_off_a_terminal_prints_plain_progress_lines(
    tiny_colorizer, tmp_path, monkeypatch, capsys
):
    tiny_colorizer.save_pretrained(tmp_path / "model")
    for name in ("a", "b"):
        pixels = (np.random.rand(72, 140) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{name}.png")
    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    args = [
        "colorize",
        str(tmp_path / "a.png"),
        str(tmp_path / "b.png"),
        "--out",
        str(tmp_path / "o"),
    ]
    assert (
        main(
            [*args, "--model", str(tmp_path / "model"), "--method", "pyramid-tiled", "--tile", "64"]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    assert "progress: 0/2 images; a.png: level 1/2" in lines
    assert any(line.startswith("progress: 1/2 images; b.png: level 2/2, tile ") for line in lines)
    assert lines[-1] == "progress: 2/2 images"


@pytest.mark.parametrize("enabled", [True, False])
def test_file_progress_on_a_terminal_is_one_bar(enabled, tmp_path):
    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    stream = Terminal()
    bar = progress.FileProgress(2, enabled=enabled, stream=stream)
    with bar.image("big.jpg"):
        progress.level_started(0, 3)
        progress.tiles_done(2, 5)
    bar.done()
    bar.write("big.jpg: a problem")
    bar.close()
    assert "big.jpg: a problem" in stream.text
    assert ("big.jpg: level 1/3, tile 2/5" in stream.text) is enabled
    assert "\x1b[A" not in stream.text  # a single bar: no cursor-up escapes of nested bars


def test_track_prints_plain_lines_off_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    stream = io.StringIO()
    assert list(progress.track([4, 5, 6], "evaluate", stream=stream)) == [4, 5, 6]
    assert stream.getvalue().splitlines() == [f"progress: evaluate {i}/3" for i in (1, 2, 3)]
    quiet = io.StringIO()
    assert list(progress.track(iter("ab"), "x", enabled=False, stream=quiet)) == ["a", "b"]
    assert quiet.getvalue() == ""


@pytest.mark.usefixtures("fresh_accelerator")
def test_training_off_a_terminal_logs_plain_lines(photo_folder, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    argv = [
        "train",
        f"output_dir={tmp_path / 'run'}",
        f"data.train={photo_folder}",
        "data.image_size=32",
        "data.cache_size=40",
        "data.batch_size=2",
        "data.val_max_images=1",
        "model.base_channels=4",
        "model.depth=2",
        "model.base_size=16",
        "max_steps=2",
    ]
    assert main(argv) == 0
    err = capfd.readouterr().err  # a file, not a terminal: what a log would hold
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    assert any(line.startswith("progress: caching images at 40 px 1/") for line in lines)
    assert any(line.startswith("progress: train 2/2; loss=") for line in lines), err


def test_a_bar_on_a_terminal_counts_from_where_a_run_resumes():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = progress.Bar(10, "train", unit="step", initial=4, stream=stream)
    bar.update(note="loss=0.5")
    bar.close()
    assert "5/10" in stream.getvalue() and "loss=0.5" in stream.getvalue()
    assert bar.count == 5
