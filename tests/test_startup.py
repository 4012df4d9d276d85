"""The command line answers without importing the heavy libraries; the package loads lazily."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "datasets", "kornia", "accelerate", "segmentation_models_pytorch", "timm")


def _imported_after(code: str) -> list[str]:
    script = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_building_the_command_line_imports_no_heavy_library():
    assert _imported_after("from pyramidrefine.cli import build_parser; build_parser()") == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["colorize", "--help"]])
def test_help_and_version_import_no_heavy_library(argv):
    code = "import contextlib, io\nfrom pyramidrefine.cli import main\n"
    code += "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
    code += f"    main({argv!r})"
    assert _imported_after(code) == []


def test_import_pyramidrefine_is_light_and_names_load_on_use():
    assert _imported_after("import pyramidrefine") == []
    assert "torch" in _imported_after("import pyramidrefine as pr; pr.CoarseToFine")


def test_public_names_and_submodules_resolve():
    import pyramidrefine as pr

    for name in pr.__all__:
        assert getattr(pr, name) is not None, name
    assert callable(pr.tiling.resize)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        pr.no_such_name  # noqa: B018


def test_registries_hold_the_builtin_entries_without_importing_their_modules_first():
    code = (
        "from pyramidrefine.registry import list_generators, list_tasks\n"
        "assert {'unet', 'smp'} <= set(list_generators()), list_generators()\n"
        "assert {'colorization', 'denoising'} <= set(list_tasks()), list_tasks()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
