import warnings

import pytest
import torch

import pyramidrefine as pr
from pyramidrefine import hardware
from pyramidrefine.training import load_config
from pyramidrefine.training.trainer import accelerator_precision


@pytest.fixture
def cpu_with(monkeypatch):
    """Pretend the CPU has exactly the given instruction-set flags."""

    def set_flags(*flags):
        monkeypatch.setattr(hardware, "cpu_flags", lambda: set(flags))

    return set_flags


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("avx2", "fma3"), "fp32"),  # AVX2 only: bf16 emulated, ~28× slower
        (("avx2", "avx512_f", "avx512_bw"), "fp32"),  # AVX-512 without bf16
        (("avx2", "avx512_f", "avx512_bf16"), "bf16"),
        (("avx2", "amx_tile", "amx_bf16"), "bf16"),
    ],
)
def test_auto_precision_follows_the_cpus_bf16_capability(cpu_with, flags, expected):
    cpu_with(*flags)
    assert hardware.resolve_precision("auto", "cpu") == expected


def test_auto_precision_on_cuda_asks_the_gpu(monkeypatch):
    supported = {"value": True}
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: supported["value"]
    )
    assert hardware.resolve_precision("auto", "cuda") == "bf16"
    supported["value"] = False
    assert hardware.resolve_precision("auto", "cuda:0") == "fp32"


def test_forced_bf16_warns_only_on_a_cpu_without_native_bf16(cpu_with):
    cpu_with("avx2")
    with pytest.warns(UserWarning, match="without native bf16"):
        assert hardware.resolve_precision("bf16", "cpu") == "bf16"
    cpu_with("avx512_bf16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hardware.resolve_precision("bf16", "cpu") == "bf16"
        assert hardware.resolve_precision("fp32", "cpu") == "fp32"


def test_unknown_precision_is_refused():
    with pytest.raises(pr.ConfigurationError, match="auto, fp32, bf16"):
        hardware.resolve_precision("fp16", "cpu")


def test_cpu_flags_fall_back_to_proc_cpuinfo(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512_bf16\n")
    monkeypatch.delattr(torch.cpu, "get_capabilities", raising=False)
    monkeypatch.setattr(hardware, "_CPUINFO", cpuinfo)
    assert hardware.cpu_flags() == {"fpu", "sse2", "avx2", "avx512_bf16"}
    assert hardware.cpu_has_native_bf16()


def test_colorizer_resolves_auto_precision(cpu_with, tiny_colorizer):
    cpu_with("avx2")
    assert pr.Colorizer(tiny_colorizer).precision == "fp32"
    cpu_with("avx512_bf16")
    assert pr.Colorizer(tiny_colorizer).precision == "bf16"
    assert pr.Colorizer(tiny_colorizer, precision="fp32").precision == "fp32"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5G", int(1.5 * 1024**3)),
        ("800M", 800 * 1024**2),
        ("2GB", 2 * 1024**3),
        ("512MiB", 512 * 1024**2),
        ("1048576", 1024**2),
        ("auto", "auto"),
        ("None", None),
    ],
)
def test_memory_sizes_are_parsed(text, expected):
    assert hardware.parse_memory_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "0", "-1G", "1.5X", ""])
def test_bad_memory_sizes_are_refused(text):
    with pytest.raises(ValueError, match="not a memory size"):
        hardware.parse_memory_size(text)


def test_default_cpu_budget_is_a_capped_share_of_the_available_memory(monkeypatch):
    monkeypatch.setattr(hardware, "available_memory", lambda device="cpu": 2 * 1024**3)
    assert hardware.default_memory_budget("cpu") == 512 * 1024**2
    monkeypatch.setattr(hardware, "available_memory", lambda device="cpu": 64 * 1024**3)
    assert hardware.default_memory_budget("cpu") == hardware.CPU_BUDGET_CAP
    assert hardware.resolve_memory_budget("auto", "cpu") == hardware.CPU_BUDGET_CAP
    assert hardware.resolve_memory_budget(None, "cpu") is None
    with pytest.raises(pr.ConfigurationError, match="memory_budget"):
        hardware.resolve_memory_budget(0, "cpu")


def test_available_memory_reads_meminfo(monkeypatch, tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemAvailable:    4000000 kB\n")
    monkeypatch.setattr(hardware, "_MEMINFO", meminfo)
    assert hardware.available_memory("cpu") == 4000000 * 1024


def test_colorizer_on_a_device_this_machine_lacks_says_so(tiny_colorizer, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(pr.ConfigurationError, match="device= cuda: CUDA is not available"):
        pr.Colorizer(tiny_colorizer, device="cuda")
    with pytest.raises(pr.ConfigurationError, match="not a torch device"):
        pr.Colorizer(tiny_colorizer, device="gpu")


def test_the_cli_process_may_keep_freed_memory_for_reuse():
    import platform

    kept = hardware.keep_freed_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert kept  # mallopt took both thresholds


def test_training_resolves_auto_mixed_precision(cpu_with):
    cpu_with("avx2")
    assert accelerator_precision("auto") == "no"
    with pytest.warns(UserWarning, match="use mixed_precision auto or no"):
        assert accelerator_precision("bf16") == "bf16"
    cpu_with("avx512_bf16")
    assert accelerator_precision("auto") == "bf16"
    assert accelerator_precision("no") == "no"
    assert load_config(None, ["mixed_precision=auto"]).mixed_precision == "auto"
