import gc
import sys

import pytest
import torch
from torch import nn

from pyramidrefine import profiling


def test_flops_of_a_convolution_are_two_per_multiply_add():
    conv = nn.Conv2d(4, 8, 3, padding=1, bias=False)
    flops, output = profiling.count_flops(conv, torch.randn(2, 4, 16, 16))
    assert output.shape == (2, 8, 16, 16)
    assert flops == 2 * (2 * 16 * 16) * (8 * 4 * 3 * 3)


def test_median_seconds_times_each_call():
    calls = []
    seconds = profiling.median_seconds(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and 0 <= seconds < 0.1


def test_matmul_gflops_is_positive():
    assert profiling.matmul_gflops(torch.float32, size=64, repeats=1) > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="resettable peak RSS is Linux")
def test_peak_memory_sees_a_temporary_allocation_and_resets_between_blocks():
    gc.collect()  # no garbage of earlier tests freed inside the block, lowering the RSS
    with profiling.PeakMemory("cpu") as big:
        block = torch.ones(256 * 1024 * 1024 // 4)  # 256 MB, touched: more than any free pool
        del block
    with profiling.PeakMemory("cpu") as small:
        pass
    assert big.exact and big.increase_mb > 50
    assert small.increase_mb < 20 and small.peak_mb < big.peak_mb


def test_machine_info_records_the_setting():
    info = profiling.machine_info("cpu")
    assert info["torch"] == torch.__version__ and info["logical_cores"] >= 1
    assert info["torch_threads"] >= 1 and info["device"] == "cpu" and info["cpu"]


def test_peak_tensor_bytes_counts_what_is_alive_at_once():
    def chain(x):
        doubled = x * 2  # 1 KiB
        shifted = doubled + 1  # 2 KiB alive
        del doubled
        view = shifted[:128]  # a view: no new memory
        return view * 3  # 2 KiB alive again, then 1 KiB

    x = torch.ones(256)  # 1 KiB, the argument: not counted
    with torch.inference_mode():
        peak, output = profiling.peak_tensor_bytes(chain, x)
    assert peak == 2 * 1024 and output.shape == (128,)
    conv = nn.Conv2d(4, 8, 3, padding=1)
    with torch.inference_mode():
        peak, _ = profiling.peak_tensor_bytes(conv, torch.randn(1, 4, 32, 32))
    assert peak == 8 * 32 * 32 * 4
