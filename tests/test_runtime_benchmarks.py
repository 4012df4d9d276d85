"""Smoke tests of benchmarks/runtimes.py and benchmarks/network_side.py on tiny photos."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def photo(path: Path, size=(96, 64)) -> Path:
    rng = np.random.default_rng(0)
    small = (rng.random((4, 6, 3)) * 255).astype(np.uint8)
    Image.fromarray(small).resize(size, Image.BICUBIC).save(path)
    return path


def test_a_runtime_row_measures_one_colorizer_call_in_its_own_process(tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks" / "runtimes.py"), "--child", "torch fp32"]
    command += ["--photo", str(photo(tmp_path / "p.png")), "--repeats", "1"]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["seconds"] > 0 and row["peak_mb"] > 0 and row["flops"] > 0
    assert (row["precision"], row["backend"]) == ("fp32", "torch")


def test_the_runtime_table_rates_calls_and_leaves_whole_processes_unrated(import_benchmark):
    runtimes = import_benchmark("runtimes")
    call = {"seconds": 2.0, "peak_mb": 900.0, "precision": "fp32", "backend": "torch"}
    results = {
        1024: {"torch fp32": {**call, "flops": 4e11}, "process": {"seconds": 5.0, "peak_mb": 1e3}}
    }
    table = runtimes.table(results, {"fp32": 400.0, "bf16": 800.0})
    assert "| 1024×768 | torch fp32 | torch, fp32 | 2.00 | 200 | 50% | 900 |" in table
    assert "| 1024×768 | process | default (whole process) | 5.00 |" in table


def test_network_side_rows_compare_each_limit_with_the_whole_size(tmp_path):
    script = ROOT / "benchmarks" / "network_side.py"
    command = [sys.executable, str(script), str(photo(tmp_path / "p.png")), "--sides", "none", "64"]
    command += ["--out", str(tmp_path / "out")]
    subprocess.run(command, capture_output=True, text=True, check=True)
    record = json.loads((tmp_path / "out" / "results.json").read_text())
    whole, limited = record["rows"]
    assert whole["max_network_side"] is None and whole["ab_distance_to_first"] == 0
    assert limited["max_network_side"] == 64 and limited["l1_ab"] >= 0
    assert "| p.png (96×64) | 64 |" in record["table"]
