"""Edges of the commands: Ctrl+C, odd folder entries, unwritable outputs, stale temporaries,
export folders and evaluate's inputs; each one line (exit 2) or a per-file failure."""

import errno
import os
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pyramidrefine import batch, inference
from pyramidrefine.atomic import atomic_path, remove_stale_temporaries
from pyramidrefine.cli import main
from pyramidrefine.errors import ImageReadError
from pyramidrefine.images import read_image


@pytest.fixture
def model_dir(tiny_colorizer, tmp_path):
    tiny_colorizer.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only; as root (where permissions do not bind) refuse to create
    files and folders in it as the kernel would for another user."""
    made = []

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        made.append(folder)
        if os.access(folder, os.W_OK):
            for name in ("open", "mkdir"):
                real = getattr(os, name)

                def refuse(path, *args, _real=real, **kwargs):
                    if Path(os.fspath(path)).absolute().parent == folder.absolute():
                        raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
                    return _real(path, *args, **kwargs)

                monkeypatch.setattr(os, name, refuse)
        return folder

    yield make
    for folder in made:
        folder.chmod(0o755)


def photo(path: Path, size=(24, 20)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.random.default_rng(0).random(size[::-1]) * 255).astype(np.uint8)
    Image.fromarray(pixels, "L").save(path)
    return path


def colorize(*args, model):
    return main(["colorize", *map(str, args), "--model", str(model)])


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_ctrl_c_ends_with_the_summary_so_far_and_exit_130(tmp_path, model_dir, monkeypatch, capsys):
    for name in "abc":
        photo(tmp_path / "in" / f"{name}.png")
    real = batch.process_file
    calls = []

    def interrupted_on_the_second(pipeline, job):
        calls.append(job)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(pipeline, job)

    monkeypatch.setattr(batch, "process_file", interrupted_on_the_second)
    assert colorize(tmp_path / "in", "--out", tmp_path / "out", model=model_dir) == 130
    captured = capsys.readouterr()
    assert last_line(captured.out) == "1 coloured, 0 failed, 2 not done (interrupted)"
    assert "Traceback" not in captured.err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a_color.png"]  # no temporary


def test_ctrl_c_elsewhere_is_one_line_and_exit_130(tmp_path, monkeypatch, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(inference, "Colorizer", interrupt)  # while the model loads
    assert main(["colorize", str(photo(tmp_path / "a.png")), "--out", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "pyramidrefine colorize: interrupted\n"


def test_a_symlink_loop_and_an_unlistable_folder_are_per_file_failures(
    tmp_path, model_dir, monkeypatch, capsys
):
    folder = tmp_path / "in"
    photo(folder / "good.png")
    (folder / "loop.png").symlink_to(folder / "loop.png")
    (folder / "broken.png").symlink_to(tmp_path / "nowhere.png")
    locked = tmp_path / "locked"  # a folder this user may not list
    locked.mkdir()
    inside = tmp_path / "private" / "a.png"  # in a folder this user may not enter
    real_iterdir, real_is_dir = Path.iterdir, Path.is_dir

    def denied(path):
        return PermissionError(errno.EACCES, "Permission denied", str(path))

    def iterdir(self):
        if self == locked:
            raise denied(self)
        return real_iterdir(self)

    def is_dir(self):
        if self == inside:
            raise denied(self)
        return real_is_dir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    monkeypatch.setattr(Path, "is_dir", is_dir)
    out = tmp_path / "out"
    assert colorize(folder, locked, inside, "--out", out, model=model_dir) == 1
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert f"{locked}: cannot be read (Permission denied)" in errors
    assert f"{inside}: cannot be read (Permission denied)" in errors
    assert f"{folder / 'loop.png'}: a symbolic link to nothing (broken, or a loop)" in errors
    assert f"{folder / 'broken.png'}: a symbolic link to nothing (broken, or a loop)" in errors
    assert last_line(captured.out) == "1 coloured, 4 failed"
    assert [p.name for p in out.iterdir()] == ["good_color.png"]


@pytest.mark.parametrize("kind", ["read-only", "a file", "not creatable"])
def test_the_output_folder_is_checked_before_any_photo_is_coloured(
    tmp_path, model_dir, monkeypatch, read_only, capsys, kind
):
    source = photo(tmp_path / "a.png")
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file")
    out = {
        "read-only": tmp_path / "locked",
        "a file": blocker,
        "not creatable": blocker / "out",
    }[kind]
    if kind == "read-only":
        read_only(out)
    coloured = []
    monkeypatch.setattr(batch, "process_file", lambda *job: coloured.append(job))
    assert colorize(source, "--out", out, model=model_dir) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"pyramidrefine colorize: error: {out}: ") and error.count("\n") == 1
    assert coloured == []


@pytest.mark.parametrize("suffix", ["/../../x", "_a/b", "..", "_v..1"])
def test_a_suffix_cannot_leave_the_output_folder(tmp_path, model_dir, suffix, capsys):
    source = photo(tmp_path / "in" / "a.png")
    out = tmp_path / "deep" / "out"
    assert colorize(source, "--out", out, "--suffix", suffix, model=model_dir) == 2
    error = capsys.readouterr().err
    assert error.startswith("pyramidrefine colorize: error: --suffix") and error.count("\n") == 1
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == ["a.png"]


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def temporary(folder: Path, name: str, pid: int, seconds_ago: float) -> Path:
    """A temporary as atomic_path names it, last changed ``seconds_ago``."""
    path = folder / f".{name}.tmp-{pid}-abcd_123.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half an image")
    then = time.time() - seconds_ago
    os.utime(path, (then, then))
    return path


def test_temporaries_name_their_process(tmp_path):
    with atomic_path(tmp_path / "a.png") as path:
        assert path.name.startswith(f".a.png.tmp-{os.getpid()}-")
        assert remove_stale_temporaries(tmp_path) == []  # a running process's, even when old


def test_a_killed_runs_temporaries_are_removed_on_the_next_run(tmp_path, model_dir):
    out = tmp_path / "out"
    killed = temporary(out, "a_color.png", dead_pid(), seconds_ago=120)
    fresh = temporary(out, "b_color.png", dead_pid(), seconds_ago=0)  # maybe another machine's
    live = temporary(out, "c_color.png", os.getpid(), seconds_ago=120)
    assert colorize(photo(tmp_path / "a.png"), "--out", out, model=model_dir) == 0
    assert not killed.exists()
    assert fresh.exists() and live.exists()
    assert (out / "a_color.png").is_file()


def test_temporaries_a_day_old_are_stale_whatever_their_name_says(tmp_path):
    other = tmp_path / "notes.tmp-file.txt"  # not a name atomic_path gives: never touched
    unmarked = tmp_path / ".x.png.tmp-abcd1234.png"  # before the process id was in the name
    reused = temporary(tmp_path, "y.png", os.getpid(), seconds_ago=2 * 24 * 3600)  # id reused
    then = time.time() - 2 * 24 * 3600
    for path in (other, unmarked):
        path.touch()
        os.utime(path, (then, then))
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted([unmarked, reused])
    assert other.exists()


def test_a_float_tiff_of_nans_is_a_one_line_failure_without_warnings(tmp_path, model_dir, capsys):
    nans = tmp_path / "in" / "nan.tif"
    nans.parent.mkdir()
    Image.fromarray(np.full((8, 8), np.nan, np.float32), "F").save(nans)
    photo(tmp_path / "in" / "good.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageReadError, match="no pixel has a finite value"):
            read_image(nans)
        assert colorize(tmp_path / "in", "--out", tmp_path / "out", model=model_dir) == 1
    captured = capsys.readouterr()
    assert f"{nans}: no pixel has a finite value (all NaN or infinite); nothing to show" in (
        captured.err.splitlines()
    )
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good_color.png"]


@pytest.fixture
def exportable(tiny_colorizer, tmp_path):
    tiny_colorizer.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def export(model, out, *options):
    return main(
        ["export", "--model", str(model), "--format", "torchscript", "--out", str(out), *options]
    )


def test_an_export_replaces_the_folders_earlier_export(exportable, tmp_path, capsys):
    out = tmp_path / "deploy"
    out.mkdir()
    (out / "generator-0.onnx").write_bytes(b"an earlier ONNX export")
    (out / "pyramid.json").write_text('{"format": "onnx"}')
    assert export(exportable, out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["generator-0.pt", "pyramid.json"]
    assert '"format": "torchscript"' in (out / "pyramid.json").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert capsys.readouterr().out.splitlines() == [
        str(out / "generator-0.pt"),
        str(out / "pyramid.json"),
    ]


@pytest.mark.parametrize("kind", ["a file", "not creatable", "read-only", "not an export"])
def test_an_unusable_export_folder_is_one_line(exportable, tmp_path, read_only, kind, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file")
    out = {
        "a file": blocker,
        "not creatable": blocker / "deploy",
        "read-only": tmp_path / "locked" / "deploy",
        "not an export": tmp_path,  # holds the model: an export must not replace it
    }[kind]
    if kind == "read-only":
        read_only(out.parent)
    assert export(exportable, out) == 2
    error = capsys.readouterr().err
    assert error.startswith("pyramidrefine export: error: ") and error.count("\n") == 1
    assert blocker.read_text() == "a file" and (exportable / "config.json").is_file()


@pytest.mark.parametrize("kind", ["read-only", "a folder"])
def test_an_unwritable_evaluate_json_is_found_before_any_work(
    model_dir, tmp_path, read_only, monkeypatch, kind, capsys
):
    import pyramidrefine.training.data as training_data

    worked = []
    monkeypatch.setattr(training_data, "validation_images", lambda *a, **k: worked.append(a))
    target = {"read-only": tmp_path / "locked" / "m.json", "a folder": tmp_path}[kind]
    if kind == "read-only":
        read_only(target.parent)
    args = ["evaluate", "--model", str(model_dir), "--data", str(tmp_path), "--json"]
    assert main([*args, str(target)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(
        f"pyramidrefine evaluate: error: {target.parent if kind == 'read-only' else target}: "
    )
    assert error.count("\n") == 1 and worked == []


def test_evaluate_on_a_folder_without_images_is_one_line(model_dir, tmp_path, capsys):
    data = tmp_path / "photos"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "notes.txt").write_text("no photos here")
    assert main(["evaluate", "--model", str(model_dir), "--data", str(data)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"pyramidrefine evaluate: error: {data}: no images in this folder")
    assert error.count("\n") == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--method", "patchwise", "--tile", "1"], "tiles of 1 pixels are under the minimum of 64"),
        (["--method", "pyramid-tiled", "--tile", "64", "--overlap", "32"], "an overlap of 32"),
        (["--method", "patchwise", "--base-size", "16"], "tiles of 16 pixels"),  # the default tile
    ],
)
def test_colorize_refuses_tiny_tiles_before_any_photo(
    tmp_path, model_dir, monkeypatch, options, message, capsys
):
    coloured = []
    monkeypatch.setattr(batch, "process_file", lambda *job: coloured.append(job))
    source = photo(tmp_path / "a.png")
    assert colorize(source, "--out", tmp_path / "out", *options, model=model_dir) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"pyramidrefine colorize: error: {message}") and error.count("\n") == 1
    assert coloured == []
