"""Optional dependencies: import them, or fail with one line naming the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtraError


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, else raise :class:`MissingExtraError` naming ``pyramidrefine[extra]``.

    ``purpose`` completes the sentence "PURPOSE needs the MODULE package", e.g.
    ``require("onnx", "export", "ONNX export")``.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"{purpose} needs the {module} package, which is not installed; "
            f'pip install "pyramidrefine[{extra}]"'
        ) from None
