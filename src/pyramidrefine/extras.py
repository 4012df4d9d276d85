"""Optional dependencies (the extras of ``pyproject.toml``: demo, export, pretrained, ...): import
them, or fail with one line naming the extra to install. Nothing about devices or hardware."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from .errors import MissingExtraError


def install_command(extra: str) -> str:
    """The pip command that installs ``extra`` for the pyramidrefine running here.

    From a clone (an editable install, with the clone's ``pyproject.toml`` above the
    package): ``pip install -e ".[extra]"``, with the clone's path unless it is the current
    folder; otherwise by name, ``pip install "pyramidrefine[extra]"``.
    """
    clone = Path(__file__).resolve().parents[2]
    if not (clone / "pyproject.toml").is_file():
        return f'pip install "pyramidrefine[{extra}]"'
    where = "." if clone == Path.cwd().resolve() else str(clone)
    return f'pip install -e "{where}[{extra}]"'


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, else raise :class:`MissingExtraError` naming the extra to install.

    ``purpose`` completes the sentence "PURPOSE needs the MODULE package", e.g.
    ``require("onnx", "export", "ONNX export")``; the message ends with
    :func:`install_command`.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"{purpose} needs the {module} package, which is not installed; "
            f"{install_command(extra)}"
        ) from None
