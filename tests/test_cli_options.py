"""Options of every command: --import, --threads and --verbose (quiet library logs)."""

import logging
import re
import sys
from pathlib import Path

import datasets
import pytest
import torch

import pyramidrefine as pr
from pyramidrefine.cli import main


@pytest.fixture
def restore_threads_and_logging():
    threads, level = torch.get_num_threads(), logging.getLogger().level
    yield
    torch.set_num_threads(threads)
    logging.getLogger().setLevel(level)
    datasets.enable_progress_bars()


def test_threads_before_or_after_the_command(restore_threads_and_logging, capsys):
    assert main(["--threads", "1", "models"]) == 0
    assert torch.get_num_threads() == 1
    assert main(["--threads", "1", "models", "--threads", "2"]) == 0
    assert torch.get_num_threads() == 2
    with pytest.raises(SystemExit):
        main(["models", "--threads", "0"])
    assert "--threads: must be a positive integer, got 0" in capsys.readouterr().err


def test_library_info_lines_and_bars_are_off_unless_verbose(restore_threads_and_logging):
    assert main(["models"]) == 0
    assert not logging.getLogger("accelerate.checkpointing").isEnabledFor(logging.INFO)
    assert logging.getLogger("pyramidrefine.training.trainer").isEnabledFor(logging.INFO)
    assert not datasets.is_progress_bar_enabled()
    assert main(["models", "--verbose"]) == 0
    assert logging.getLogger("accelerate.checkpointing").isEnabledFor(logging.INFO)
    assert datasets.is_progress_bar_enabled()


def test_imports_that_fail_are_one_line_naming_the_module(tmp_path, capsys):
    broken = tmp_path / "broken_plugin.py"
    broken.write_text("import torch\nraise RuntimeError('no GPU here\\nsecond line')\n")
    assert main(["--import", str(broken), "models"]) == 2
    assert capsys.readouterr().err == (
        f"pyramidrefine models: error: cannot import {broken} (RuntimeError: no GPU here)\n"
    )
    assert main(["models", "--import", "no_such_module_xyz"]) == 2
    error = capsys.readouterr().err
    assert (
        error.count("\n") == 1 and "cannot import no_such_module_xyz (ModuleNotFoundError" in error
    )
    assert main(["models", "--import", str(tmp_path / "absent.py")]) == 2
    assert "absent.py: no such file" in capsys.readouterr().err
    (tmp_path / "json.py").write_text("")
    with pytest.raises(pr.ConfigurationError, match="a module named json is already imported"):
        pr.load_module(tmp_path / "json.py")


def test_a_generator_from_an_imported_module_name(tmp_path, monkeypatch):
    (tmp_path / "my_generators_mod.py").write_text(
        "from torch import nn\n"
        "from pyramidrefine import register_generator\n\n"
        "@register_generator('one-conv-test')\n"
        "def one_conv(in_channels, out_channels):\n"
        "    return nn.Conv2d(in_channels, out_channels, 3, padding=1)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = pr.load_module("my_generators_mod")
    assert pr.load_module("my_generators_mod") is module  # once only: no double registration
    assert "one-conv-test" in pr.list_generators()


def test_missing_extras_name_a_pip_command_that_works_from_a_clone(tmp_path, monkeypatch):
    from pyramidrefine.extras import install_command

    clone = Path(pr.__file__).resolve().parents[2]
    if not (clone / "pyproject.toml").is_file():
        pytest.skip("pyramidrefine is not installed from a clone here")
    monkeypatch.chdir(clone)
    assert install_command("export") == 'pip install -e ".[export]"'
    monkeypatch.chdir(tmp_path)
    assert install_command("demo") == f'pip install -e "{clone}[demo]"'
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    with pytest.raises(pr.MissingExtraError, match=re.escape(f'pip install -e "{clone}[export]"')):
        pr.extras.require("onnx", "export", "ONNX export")
