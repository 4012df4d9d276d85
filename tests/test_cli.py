"""Every command as a new user meets it: help, version, one-line errors, exit codes."""

import argparse
import dataclasses
import sys

import pytest
import torch

import pyramidrefine as pr
from pyramidrefine.cli import build_parser, main
from pyramidrefine.errors import MissingExtraError
from pyramidrefine.training.config import TrainConfig


def subparsers() -> dict[str, argparse.ArgumentParser]:
    actions = build_parser()._subparsers._group_actions
    return next(a for a in actions if isinstance(a, argparse._SubParsersAction)).choices


def help_of(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_is_plain_text_with_examples(capsys):
    text = help_of(capsys)
    assert "``" not in text and "Command line:" not in text
    assert "pyramidrefine COMMAND --help" in text
    for command in ("train", "evaluate", "export", "colorize", "demo"):
        assert f"pyramidrefine {command} " in text.split("examples:")[1]


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"pyramidrefine {pr.__version__}"


@pytest.mark.parametrize("command", ["train", "evaluate", "export", "colorize", "demo"])
def test_every_command_has_a_description_an_example_and_help_for_each_option(capsys, command):
    parser = subparsers()[command]
    assert parser.description and len(parser.description) > 100
    for action in parser._actions:
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
    assert "examples:" in help_of(capsys, command)


def option_help(command: str, flag: str) -> str:
    return next(a.help for a in subparsers()[command]._actions if flag in a.option_strings)


def test_evaluate_and_export_explain_their_options():
    assert "first N usable photos" in option_help("evaluate", "--max-images")
    assert "cuda if available" in option_help("evaluate", "--device")
    assert "torchscript: traced" in option_help("export", "--format")
    assert "'export' extra" in option_help("export", "--format")
    assert 'pip install -e ".[export]"' in subparsers()["export"].description  # from the clone


def test_train_help_says_where_outputs_go_and_lists_every_config_key(capsys):
    text = help_of(capsys, "train")
    for output in ("output_dir", "metrics.csv", "checkpoints/", "model/"):
        assert output in text
    for field in dataclasses.fields(TrainConfig):
        assert f"{field.name}=" in text or f"{field.name}." in text
    for key in ("data.", "val_max_side=512", "model.", "base_size=128", "optim.", "lr=0.0002"):
        assert key in text


@pytest.mark.parametrize(
    "argv",
    [
        ["evaluate", "--model", "m", "--data", "d", "--max-images", "0"],
        ["export", "--model", "m", "--tile", "abc"],
    ],
)
def test_bad_numbers_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "must be" in error and "_positive" not in error


@pytest.fixture
def model_dir(tiny_colorizer, tmp_path):
    tiny_colorizer.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


def test_export_onnx_without_the_extra_is_one_line_and_leaves_no_folder(
    model_dir, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    assert main(["export", "--model", str(model_dir)]) == 2
    line = one_error_line(capsys)
    assert line.startswith("pyramidrefine export: error: ONNX export needs the onnx package")
    assert line.endswith('pip install -e ".[export]"')  # tests run in the clone
    assert not (model_dir / "onnx").exists()


def test_onnx_runtime_without_the_extra_names_it(tmp_path, monkeypatch):
    from pyramidrefine.onnx_runtime import OnnxCoarseToFine

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingExtraError, match=r'pip install -e ".*\[export\]"'):
        OnnxCoarseToFine(tmp_path)


def test_a_failed_export_removes_the_folder_it_created(model_dir, monkeypatch, capsys):
    from pyramidrefine import export

    def fail(*args, **kwargs):
        raise pr.ConfigurationError("this generator cannot be traced")

    monkeypatch.setattr(export, "_torchscript", fail)
    out = model_dir.parent / "deploy"
    assert main(["export", "--model", str(model_dir), "--format", "torchscript", "--out", str(out)])
    assert "cannot be traced" in one_error_line(capsys)
    assert not out.exists()


def test_export_tile_not_above_the_overlap_says_what_to_change(model_dir, capsys):
    assert main(["export", "--model", str(model_dir), "--tile", "16"]) == 2
    line = one_error_line(capsys)
    assert "overlap (32) must be less than the tile (16)" in line and "--overlap" in line


def test_evaluate_missing_data_is_one_line(model_dir, tmp_path, capsys):
    assert main(["evaluate", "--model", str(model_dir), "--data", "no/such-photos"]) == 2
    assert "no/such-photos: no such file or folder" in one_error_line(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("command", ["evaluate", "colorize"])
def test_a_device_this_machine_lacks_is_one_line(model_dir, tmp_path, capsys, command):
    data = ["--data", str(tmp_path)] if command == "evaluate" else [str(tmp_path), "--out", "o"]
    assert main([command, "--model", str(model_dir), *data, "--device", "cuda"]) == 2
    assert "--device cuda: CUDA is not available here" in one_error_line(capsys)


def test_a_mistyped_model_folder_fails_at_once(capsys):
    assert main(["export", "--model", "no-such-model"]) == 2
    assert "no-such-model: no such model folder" in one_error_line(capsys)


def test_export_folder_defaults_to_the_model_folder_or_beside_for_a_hub_id(model_dir, tmp_path):
    from pyramidrefine.cli.export import default_export_folder

    assert default_export_folder(str(model_dir), "onnx") == model_dir / "onnx"
    assert str(default_export_folder("owner/colorizer", "torchscript")) == "colorizer-torchscript"
