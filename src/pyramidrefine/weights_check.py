"""Check ``model.safetensors`` against the model it should fill, before any weight is read.

The model is first built as a skeleton whose parameters live on the meta device (no
memory): its size is capped, and the file's header (names, shapes, dtypes) must match it
exactly, so a config that describes a huge model, or weights stored as integers or float64,
fail in one line before anything large is allocated.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import torch
from accelerate import init_empty_weights
from safetensors import SafetensorError, safe_open
from torch import nn

from .errors import CheckpointError

MAX_PARAMETERS = 200_000_000
FLOAT_DTYPES = ("F16", "BF16", "F32")
INTEGER_DTYPES = {
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
MISFIT = "model.safetensors does not fit the architecture in config.json (another model, or "

M = TypeVar("M", bound=nn.Module)


def skeleton(build: Callable[[], M]) -> M:
    """``build()`` with every parameter on the meta device: the architecture, no memory."""
    with init_empty_weights():
        return build()


def check_size(model: nn.Module, source: str) -> None:
    """Raise :class:`CheckpointError` if ``model`` (a :func:`skeleton`) holds more than
    :data:`MAX_PARAMETERS` values (tied parameters counted once)."""
    tensors = model.state_dict(keep_vars=True)
    count = sum(tensors[name].numel() for name in _first_names(tensors))
    if count > MAX_PARAMETERS:
        raise CheckpointError(
            f"{source}: config.json describes a model of {count:,} values, more than the "
            f"{MAX_PARAMETERS:,} pyramidrefine loads; it is not a model this library made"
        )


def check_weights_file(model: nn.Module, path: str | os.PathLike, source: str) -> None:
    """Raise :class:`CheckpointError` unless ``path`` holds exactly ``model``'s tensors.

    ``model`` may be a :func:`skeleton`. Checked from the header alone: the same names
    (tied parameters may be stored once) and shapes; floating-point tensors stored as F16,
    BF16 or F32, integer buffers (BatchNorm's counters) as their own dtype.
    """
    tensors = model.state_dict(keep_vars=True)
    header = read_header(path, source)
    required = set(_first_names(tensors))
    missing = sorted(required - set(header))
    extra = sorted(set(header) - set(tensors))
    if missing or extra:
        listed = "; ".join(
            f"{what}: {', '.join(repr(n[:80]) for n in names[:3])}{' ...' * (len(names) > 3)}"
            for what, names in (("missing", missing), ("unexpected", extra))
            if names
        )
        raise CheckpointError(f"{source}: {MISFIT}missing/extra weights): {listed}")
    for name, (dtype, shape) in header.items():
        expected = tensors[name]
        if shape != tuple(expected.shape):
            raise CheckpointError(
                f"{source}: {MISFIT}other shapes): {name} is {list(shape)} in the file, "
                f"{list(expected.shape)} in the model"
            )
        if expected.is_floating_point() and dtype not in FLOAT_DTYPES:
            raise CheckpointError(
                f"{source}: model.safetensors stores {name} as {dtype}; weights must be "
                f"{', '.join(FLOAT_DTYPES)} (anything else would silently change them)"
            )
        if not expected.is_floating_point() and dtype != INTEGER_DTYPES.get(expected.dtype):
            raise CheckpointError(
                f"{source}: model.safetensors stores {name} as {dtype}, the model as "
                f"{expected.dtype}"
            )


def read_header(path: str | os.PathLike, source: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{name: (dtype, shape)}`` from a safetensors header; no tensor is read."""
    try:
        with safe_open(os.fspath(path), "pt") as file:
            return {
                name: (file.get_slice(name).get_dtype(), tuple(file.get_slice(name).get_shape()))
                for name in file.keys()  # noqa: SIM118 (a safe_open handle is no dict)
            }
    except (SafetensorError, OSError, ValueError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckpointError(
            f"{source}: model.safetensors is not a readable safetensors file: {first_line}"
        ) from None


def _first_names(tensors: dict[str, torch.Tensor]) -> list[str]:
    """One name per distinct tensor: tied parameters appear under several names."""
    first_name: dict[int, str] = {}
    for name, tensor in tensors.items():
        first_name.setdefault(id(tensor), name)
    return list(first_name.values())
