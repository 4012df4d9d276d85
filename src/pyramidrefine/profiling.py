"""What a forward pass costs: FLOPs, peak memory, wall time, and the machine it ran on.

Helpers for benchmarks (``benchmarks/``) and for users sizing a deployment::

    flops, output = count_flops(model, x)
    tensor_bytes, output = peak_tensor_bytes(model, x)   # any device, exact, no allocator
    with PeakMemory("cpu") as memory:
        model(x)
    memory.peak_mb, memory.increase_mb
    matmul_gflops(torch.bfloat16)        # what this machine's matmul reaches
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MB = 1024 * 1024


def count_flops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, Any]:
    """Floating-point operations of ``fn(*args, **kwargs)`` and its result.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode`: convolutions and matrix
    products, 2 per multiply-add; resizing, normalisation and activations count as 0.
    """
    with FlopCounterMode(display=False) as counter:
        output = fn(*args, **kwargs)
    return counter.get_total_flops(), output


def peak_tensor_bytes(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, Any]:
    """Most bytes held at once by tensors that ``fn(*args, **kwargs)`` creates, and its result.

    Counted op by op (a ``TorchDispatchMode``), on any device: every new storage an op
    returns counts until the last tensor using it is freed. Allocator slack, library
    scratch space and the arguments themselves are not counted. Meant for inference
    (``torch.inference_mode``): tensors that autograd keeps alive are missed.
    """
    with _LiveTensorBytes() as counter:
        output = fn(*args, **kwargs)
    return counter.peak, output


class _LiveTensorBytes(TorchDispatchMode):
    """Bytes of the live storages created under this mode, and their peak."""

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0
        self._users: dict[int, int] = {}  # storage address → live tensors using it
        self._sizes: dict[int, int] = {}  # storage address → bytes
        self._tracked: set[int] = set()  # ids of live tensors already counted

    def __torch_dispatch__(
        self, func: Callable[..., Any], types: tuple, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        output = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(output):
            if isinstance(tensor, torch.Tensor) and id(tensor) not in self._tracked:
                self._track(tensor)
        self.peak = max(self.peak, self.live)
        return output

    def _track(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        address = storage.data_ptr()
        if address not in self._users:
            self._users[address], self._sizes[address] = 0, storage.nbytes()
            self.live += storage.nbytes()
        self._users[address] += 1
        self._tracked.add(id(tensor))
        weakref.finalize(tensor, self._release, id(tensor), address)

    def _release(self, tensor_id: int, address: int) -> None:
        self._tracked.discard(tensor_id)
        self._users[address] -= 1
        if self._users[address] == 0:
            del self._users[address]
            self.live -= self._sizes.pop(address)


def synchronize(device: str | torch.device) -> None:
    """Wait for queued work on ``device`` (a no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(
    fn: Callable[[], Any], *, repeats: int = 3, warmup: int = 1, device: str = "cpu"
) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(
    dtype: torch.dtype = torch.float32, *, size: int = 2048, repeats: int = 5, device: str = "cpu"
) -> float:
    """GFLOP/s of a ``size×size`` matrix product on ``device``: the machine's practical peak."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    seconds = median_seconds(lambda: a @ b, repeats=repeats, device=device)
    return 2 * size**3 / seconds / 1e9


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux; NaN elsewhere)."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mb() -> float:
    """Highest resident memory of this process (since the last :func:`reset_peak_rss`), MB."""
    if _STATUS.exists():
        return _status_kib("VmHWM") / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MB if sys.platform == "darwin" else peak / 1024


def reset_peak_rss() -> bool:
    """Restart the peak-RSS count from the current RSS (Linux); return whether it could."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class PeakMemory:
    """Context manager measuring the peak memory of its block and the increase over entry.

    CUDA: ``torch.cuda.max_memory_allocated`` (tensors only). CPU: process RSS, whose peak
    is reset at entry on Linux; elsewhere the peak is the process's lifetime peak, and
    ``exact`` is ``False``.
    """

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.start_mb = self.peak_mb = 0.0
        self.exact = True

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start_mb = torch.cuda.memory_allocated(self.device) / _MB
        else:
            self.exact = reset_peak_rss()
            self.start_mb = rss_mb() if _STATUS.exists() else peak_rss_mb()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.device.type == "cuda":
            synchronize(self.device)
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / _MB
        else:
            self.peak_mb = peak_rss_mb()

    @property
    def increase_mb(self) -> float:
        """Peak minus the memory in use at entry."""
        return max(0.0, self.peak_mb - self.start_mb)


def machine_info(device: str | torch.device = "cpu") -> dict[str, Any]:
    """CPU, cores, memory, accelerator, Python, torch version and threads: the setting."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
    }
    try:
        import psutil

        info["physical_cores"] = psutil.cpu_count(logical=False)
        info["memory_gb"] = round(psutil.virtual_memory().total / 1024**3, 1)
    except ImportError:
        pass
    if torch.device(device).type == "cuda":
        info["accelerator"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _status_kib(field: str) -> float:
    if not _STATUS.exists():
        return float("nan")
    for line in _STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return float(line.split()[1])
    return float("nan")
