"""Make ``import segmentation_models_pytorch`` work when torchvision's compiled ops cannot load.

The registry's torchvision 0.28.0 wheel is a CUDA build. Under the CPU build of torch its
``_C`` extension fails to load, torchvision then skips its operator definitions, but its
``_meta_registrations`` module still registers fake kernels for ``torchvision::nms`` and
``torchvision::qnms`` and so ``import torchvision`` (and everything that imports it, timm
and smp included) dies with ``RuntimeError: operator torchvision::nms does not exist``.

:func:`import_torchvision` defines the two missing operator *schemas* (no kernels: the ops
stay unusable, as they already were) and imports torchvision again. Where torch and
torchvision match, the first import succeeds and nothing is defined.
"""

from __future__ import annotations

import re
import sys

import torch

# Schemas of the operators torchvision registers fake kernels for unconditionally.
_MISSING_OP_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_MISSING_OP_ERROR = re.compile(r"operator torchvision::(\w+) does not exist")
_schema_library: torch.library.Library | None = None


def import_torchvision() -> None:
    """Import torchvision, defining its missing op schemas first if its extension failed."""
    global _schema_library
    try:
        import torchvision
    except RuntimeError as error:
        match = _MISSING_OP_ERROR.search(str(error))
        if match is None or match.group(1) not in _MISSING_OP_SCHEMAS or _schema_library:
            raise
        _forget_partial_import("torchvision")
        _schema_library = torch.library.Library("torchvision", "DEF")
        for schema in _MISSING_OP_SCHEMAS.values():
            _schema_library.define(schema)
        import torchvision  # noqa: F401


def _forget_partial_import(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]
