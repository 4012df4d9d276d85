"""Shipped models by name: list_models, model_info, --model default, `pyramidrefine models`."""

import numpy as np
import pytest
from PIL import Image

import pyramidrefine as pr
from pyramidrefine import pretrained
from pyramidrefine.cli import main


@pytest.fixture
def package(tiny_colorizer, tmp_path, monkeypatch):
    """A stand-in installed package whose shipped colorizer is a tiny model."""
    root = tmp_path / "site-packages" / "pyramidrefine"
    tiny_colorizer.save_pretrained(root / "weights" / "colorizer")
    monkeypatch.setattr(pretrained, "package_dir", lambda: root)
    monkeypatch.setattr(pretrained, "default_colorizer_dir", lambda: root / "weights" / "colorizer")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return root


def test_list_models_filters_names_and_installed_weights(package, monkeypatch):
    assert pr.list_models() == ["colorizer"]
    assert pr.list_models("color*") == pr.list_models(["x*", "*izer"]) == ["colorizer"]
    assert pr.list_models("x*") == []
    assert pr.list_models(pretrained=True) == ["colorizer"]
    info = pr.model_info("default")
    assert (info.name, info.task, info.installed) == ("colorizer", "colorization", True)
    assert (
        info.size_bytes == (package / "weights" / "colorizer" / "model.safetensors").stat().st_size
    )
    monkeypatch.setattr(pretrained, "default_colorizer_dir", lambda: package / "absent")
    assert pr.list_models(pretrained=True) == []
    with pytest.raises(
        pr.ConfigurationError, match="no shipped model named 'nope'; known: colorizer"
    ):
        pr.model_info("nope")


def test_models_command_lists_name_task_size_and_description(package, capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "task", "size", "description"]
    assert lines[1].startswith("colorizer (default)") and "colorization" in lines[1]
    assert " MB " in lines[1] and "default colorizer" in lines[1]
    assert main(["models", "x*"]) == 1
    assert "no shipped model matches x*" in capsys.readouterr().out


def test_default_names_the_shipped_model_in_library_and_commands(package, photo_folder, capsys):
    assert pr.load_model("default").in_channels == 1
    assert pr.load_colorizer("colorizer").out_channels == 2  # the demo's loader
    photo = photo_folder / "photo_0.png"
    assert main(["colorize", str(photo), "--out", "c", "--model", "default"]) == 0
    assert main(["predict", str(photo), "--out", "p", "--model", "default"]) == 0
    with Image.open("c/photo_0_color.png") as c, Image.open("p/photo_0_pred.png") as p:
        assert np.array_equal(np.asarray(c), np.asarray(p))
    capsys.readouterr()
    data = ["--data", str(photo_folder), "--max-images", "1"]
    assert main(["evaluate", "--model", "default", *data]) == 0
    assert "l1_ab" in capsys.readouterr().out


def test_a_local_folder_wins_over_a_name(package, tiny_colorizer, tmp_path):
    pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=3, base_channels=4, depth=2
    ).save_pretrained("default")
    assert pr.load_model("default").levels == 3
    assert pr.load_model("colorizer").levels == 2


def test_export_of_a_packaged_model_writes_to_the_current_folder(package, capsys):
    before = sorted(p.name for p in (package / "weights" / "colorizer").iterdir())
    assert main(["export", "--model", "default", "--format", "torchscript"]) == 0
    written = capsys.readouterr().out.split()
    assert written[-1] == "colorizer-torchscript/pyramid.json"
    assert (
        main(
            ["export", "--model", str(package / "weights" / "colorizer"), "--format", "torchscript"]
        )
        == 0
    )
    assert capsys.readouterr().out.split()[-1] == "colorizer-torchscript/pyramid.json"
    assert sorted(p.name for p in (package / "weights" / "colorizer").iterdir()) == before
    out = package / "exported"
    assert main(["export", "--model", "default", "--format", "torchscript", "--out", str(out)]) == 2
    assert "inside the installed pyramidrefine package" in capsys.readouterr().err
    assert not out.exists()


def test_the_real_package_folder_is_the_installed_one():
    assert (pretrained.package_dir() / "__init__.py").is_file()
    assert pretrained.is_packaged(pretrained.default_colorizer_dir())
    assert not pretrained.is_packaged(".")
