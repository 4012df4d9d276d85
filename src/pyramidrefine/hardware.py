"""What this machine offers, and the inference settings derived from it.

Which device to use is :mod:`pyramidrefine.devices`'s job; which optional packages are
installed, :mod:`pyramidrefine.extras`'.

- :func:`resolve_precision`: ``"auto"`` becomes ``"bf16"`` on CUDA GPUs with bf16 and on
  CPUs with native bf16 instructions (AVX512-BF16 or AMX-BF16), ``"fp32"`` elsewhere (on
  CPUs without them bf16 is emulated, many times slower: docs/benchmarks.md, "Measured
  facts behind constants").
- :func:`default_memory_budget`: how many bytes one inference may use: a share of the
  available RAM (capped) or of the free GPU memory.
- :func:`autocast`: the autocast context of a resolved precision.
- :func:`parse_memory_size`: ``"1.5G"``, ``"800M"``, ``"auto"``, ``"none"`` → bytes or a
  keyword, for the command line.

The command line imports this module to read its arguments, so torch is imported inside
the functions that need it.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .choices import PRECISIONS
from .errors import ConfigurationError

if TYPE_CHECKING:
    import torch

Precision = Literal["auto", "fp32", "bf16"]
MemoryBudget = int | Literal["auto"] | None

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
GIB = 1024**3
# CPU: a quarter of the available RAM, at most 1.5 GiB: more memory bought little speed
# (docs/benchmarks.md, "Measured facts behind constants").
CPU_BUDGET_SHARE = 0.25
CPU_BUDGET_CAP = int(1.5 * GIB)
# GPU: half the free memory; bigger batches of tiles keep a GPU busy.
GPU_BUDGET_SHARE = 0.5
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": GIB, "T": 1024**4}
_MEMINFO = Path("/proc/meminfo")
_CPUINFO = Path("/proc/cpuinfo")


def cpu_flags() -> set[str]:
    """Instruction-set features of this CPU (torch's cpuinfo, else ``/proc/cpuinfo``)."""
    import torch

    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    if get_capabilities is not None:
        return {name for name, value in get_capabilities().items() if value is True}
    if _CPUINFO.exists():
        for line in _CPUINFO.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16; x86 only)."""
    return any(flag in cpu_flags() for flag in CPU_BF16_FLAGS)


def resolve_precision(precision: str, device: str | torch.device) -> Literal["fp32", "bf16"]:
    """The precision that ``precision`` (``"auto"``, ``"fp32"``, ``"bf16"``) means on ``device``.

    ``"auto"``: bf16 on CUDA GPUs that support it and on CPUs with native bf16, fp32
    elsewhere. Forcing ``"bf16"`` on a CPU without native bf16 warns (it is much slower).
    """
    import torch

    if precision not in PRECISIONS:
        raise ConfigurationError(
            f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}"
        )
    device_type = torch.device(device).type
    if precision == "auto":
        return "bf16" if _has_fast_bf16(device_type) else "fp32"
    if precision == "bf16" and device_type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            "bf16 on a CPU without native bf16 (AVX512-BF16/AMX) is emulated and many times "
            "slower than fp32; use precision 'auto' or 'fp32'",
            stacklevel=3,
        )
    return precision  # type: ignore[return-value]


def autocast(device: str | torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` when ``precision`` is ``"bf16"``, else nothing."""
    import torch

    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _has_fast_bf16(device_type: str) -> bool:
    import torch

    if device_type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return device_type == "cpu" and cpu_has_native_bf16()


# glibc returns every freed block above its mmap threshold (at most 32 MiB) to the kernel,
# so each large tensor of a run is faulted in page by page again: at 8K a third of the CPU
# time went to the kernel. Blocks up to this size are kept for reuse instead
# (docs/benchmarks.md, "Runtimes on the CPU").
KEPT_BLOCK_BYTES = 256 * 1024**2
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def keep_freed_memory(limit: int = KEPT_BLOCK_BYTES) -> bool:
    """Let this process's C allocator keep freed blocks of up to ``limit`` bytes for reuse
    (glibc ``mallopt``) instead of returning them to the kernel; whether it could. A
    process-wide setting for programs that own their process (the CLI, the demo)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, limit)) and bool(mallopt(_M_TRIM_THRESHOLD, limit))


def available_memory(device: str | torch.device = "cpu") -> int:
    """Bytes that can still be allocated: free GPU memory, or the RAM Linux calls available."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if _MEMINFO.exists():
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    try:
        import psutil
    except ImportError:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    return int(psutil.virtual_memory().available)


def default_memory_budget(device: str | torch.device = "cpu") -> int:
    """Bytes one inference may use by default on ``device`` (see the module's notes)."""
    import torch

    if torch.device(device).type == "cuda":
        return int(GPU_BUDGET_SHARE * available_memory(device))
    return min(CPU_BUDGET_CAP, int(CPU_BUDGET_SHARE * available_memory(device)))


def resolve_memory_budget(budget: MemoryBudget, device: str | torch.device) -> int | None:
    """Bytes for ``budget``: ``"auto"`` → :func:`default_memory_budget`, ``None`` → unbounded."""
    if budget == "auto":
        return default_memory_budget(device)
    if budget is not None and (not isinstance(budget, int) or budget < 1):
        raise ConfigurationError(
            f"memory_budget must be a positive number of bytes, 'auto' or None; got {budget!r}"
        )
    return budget


def parse_memory_size(text: str) -> MemoryBudget:
    """``"auto"``, ``"none"`` (unbounded) or a size such as ``"1.5G"``, ``"800M"``, ``"2GB"``."""
    word = text.strip().lower()
    if word in ("auto", "none"):
        return None if word == "none" else "auto"
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", word)
    if match is None or float(match[1]) <= 0 or not math.isfinite(float(match[1])):
        raise ValueError(f"not a memory size: {text!r} (e.g. 1.5G, 800M, auto, none)")
    return int(float(match[1]) * _UNITS[match[2].upper()])
