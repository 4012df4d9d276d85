"""Which torch device to run on: the default, and a one-line error for one this machine lacks.

The ``--device`` of the commands and the ``device=`` of the API. What a device can do (bf16,
free memory) is :mod:`pyramidrefine.hardware`'s job.
"""

from __future__ import annotations

import torch

from .errors import ConfigurationError


def resolve_device(name: str | torch.device | None, what: str = "--device") -> str:
    """``name`` if this machine has it, else a :class:`ConfigurationError` saying what to use.

    ``None`` gives ``"cuda"`` when a CUDA GPU is available, else ``"cpu"``. ``what`` names
    the setting in the message (the commands' ``--device``, the API's ``device=``).
    """
    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        message = f"{what} {name}: not a torch device; use cpu, cuda or cuda:N"
        raise ConfigurationError(message) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigurationError(f"{what} {name}: CUDA is not available here; use cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigurationError(
                f"{what} {name}: this machine has {torch.cuda.device_count()} CUDA "
                "device(s), numbered from 0"
            )
    return str(name)
