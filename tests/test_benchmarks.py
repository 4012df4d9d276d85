"""Smoke test of the colorization benchmark: ``benchmarks/run.py --quick``, smaller still."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
METHODS = [
    "baseline",
    "patchwise",
    "patchwise-blend",
    "lowres",
    "lowres-guided",
    "pyramid",
    "pyramid-tiled",
]


@pytest.fixture(scope="module")
def benchmark_run(tmp_path_factory):
    """Run the benchmark once on 3 generated photos of 120×160 px, sizes 64 and 128."""
    photos = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(3):
        small = (rng.random((6, 8, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((160, 120), Image.BICUBIC).save(photos / f"{i}.png")
    out = tmp_path_factory.mktemp("results")
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "run.py"),
        "--quick",
        f"--data={photos}",
        f"--hires={photos}",
        f"--out={out}",
        "--sizes",
        "64",
        "128",
        "--max-images=2",
        "--repeats=1",
        "--threads=1",
        "--smoke-steps=2",
        "--smoke-size=32",
        "--pyramid-tile=64",
        "--efficiency-size=64",
    ]
    src = str(ROOT / "src")
    env = os.environ | {"PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
    return out


def test_writes_every_report(benchmark_run):
    for name in ("results.csv", "results.md", "results.json"):
        assert (benchmark_run / name).stat().st_size > 0
    for name in ("runtime.png", "memory.png", "quality.png", "grid.png"):
        with Image.open(benchmark_run / name) as image:
            assert image.width > 100 and image.height > 100


def test_csv_holds_sane_values_for_every_method_size_and_data_set(benchmark_run):
    with (benchmark_run / "results.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert {(r["dataset"], r["size"], r["method"]) for r in rows} == {
        (dataset, size, method)
        for dataset in ("data", "hires")
        for size in ("64", "128")
        for method in METHODS
    }
    for row in rows:
        assert row["status"] == "ok", row
        assert max(int(row["height"]), int(row["width"])) == int(row["size"])
        assert float(row["seconds"]) > 0 and float(row["peak_mb"]) > 50
        assert float(row["forward_mb"]) >= 0 and float(row["gflop"]) > 0
        assert 0 <= float(row["l1_ab"]) < 2 and -1 <= float(row["ssim"]) <= 1
        assert float(row["psnr"]) > 0 and float(row["colourfulness"]) >= 0
        assert float(row["seam_index"]) > 0 and int(row["images"]) == 2
        assert float(row["bleeding"]) >= 0 and float(row["bleeding_true"]) >= 0


def test_tiled_methods_measure_seams_at_their_own_borders(benchmark_run):
    rows = json.loads((benchmark_run / "results.json").read_text())["results"]
    own = {(r["method"], r["size"]) for r in rows if r["seam_own_borders"]}
    assert {("patchwise", 64), ("patchwise", 128), ("pyramid-tiled", 128)} <= own
    assert not any(method in ("baseline", "pyramid", "lowres") for method, _ in own)


def test_json_records_machine_settings_and_efficiency(benchmark_run):
    record = json.loads((benchmark_run / "results.json").read_text())
    assert record["smoke"] is True
    assert record["machine"]["torch"] and record["machine"]["logical_cores"] >= 1
    assert record["versions"]["pyramidrefine"]
    assert record["settings"]["patch_tile"] == 32 and record["settings"]["sizes"] == [64, 128]
    assert set(record["matmul_gflop_per_s"]) == {"fp32", "bf16"}
    assert all(value > 0 for value in record["matmul_gflop_per_s"].values())
    layouts = {(e["precision"], e["channels_last"]) for e in record["efficiency"]}
    assert layouts == {("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True)}
    assert all(e["gflop_per_s"] > 0 for e in record["efficiency"])


def test_markdown_is_labelled_as_smoke_and_has_every_section(benchmark_run):
    text = (benchmark_run / "results.md").read_text()
    assert "SMOKE RUN" in text
    for heading in ("## Headline", "## All results", "## Targets", "## Generator efficiency"):
        assert heading in text
    headline = text.split("## Headline")[1].split("## All results")[0]
    assert "Long side 128 px, data set `hires` (2 photos)" in headline
    assert all(f"| {method} |" in headline for method in METHODS)
    assert "| baseline | " in headline and "| 1.00 |" in headline  # its own ratios


def test_grid_panels_are_pngs_not_pickles(benchmark_run):
    panels = sorted((benchmark_run / "grid-predictions").iterdir())
    assert [p.name for p in panels] == sorted(f"{m}-128.png" for m in METHODS)
    with Image.open(panels[0]) as image:
        assert max(image.size) == 128 and image.mode == "RGB"


def test_journal_lists_every_measurement(benchmark_run):
    lines = (benchmark_run / "measurements.jsonl").read_text().splitlines()
    kinds = [json.loads(line)["spec"]["kind"] for line in lines]
    assert kinds.count("method") == 2 * len(METHODS)  # 2 sizes
    assert kinds.count("generator") == 4 and kinds.count("matmul") == 1


def test_targets_compare_the_tiled_pyramid_with_baseline_and_low_res(import_benchmark):
    report = import_benchmark("report")
    common = {"dataset": "hires", "size": 2048, "status": "ok", "seam_own_borders": True}
    rows = [
        common | {"method": "baseline", "l1_ab": 0.10, "peak_mb": 1000, "bleeding": 0.2},
        common | {"method": "lowres", "l1_ab": 0.08, "peak_mb": 300, "bleeding": 0.6},
        common
        | {"method": "pyramid-tiled", "l1_ab": 0.09, "peak_mb": 200, "bleeding": 0.3}
        | {"seam_index": 1.01},
    ]
    checks = {check["target"]: check for check in report.targets(rows)}
    assert checks["pyramid-tiled L1(ab) / baseline"]["met"] == "yes"  # 0.90 ≤ 0.95
    assert checks["pyramid-tiled L1(ab) / lowres"]["met"] == "no"  # 1.125
    assert checks["pyramid-tiled bleeding / lowres"]["met"] == "yes"
    assert checks["seam index of pyramid-tiled"]["met"] == "yes"
    assert "pyramid-tiled peak memory / baseline" not in checks  # only at 4096


def test_design_benchmark_tabulates_every_variant(tmp_path, photo_folder):
    import torch

    import pyramidrefine as pr

    torch.manual_seed(0)
    model = pr.CoarseToFine("unet", in_channels=1, out_channels=2, base_size=12, base_channels=4)
    model.save_pretrained(tmp_path / "model")
    out = tmp_path / "design"
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "design.py"),
        f"--hires={photo_folder}",
        f"--variant=coarse-12={tmp_path / 'model'}",
        f"--variant=coarse-24={tmp_path / 'model'}@24",
        "--sizes=48",
        "--max-images=2",
        "--tile=32",
        "--overlap=8",
        "--threads=1",
        f"--out={out}",
    ]
    src = str(ROOT / "src")
    env = os.environ | {"PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
    rows = json.loads((out / "design.json").read_text())
    assert [(r["variant"], r["base_size"], r["status"]) for r in rows] == [
        ("coarse-12", "model's", "ok"),
        ("coarse-24", 24, "ok"),
    ]
    assert rows[0]["gflop"] != rows[1]["gflop"]  # another coarsest size: other levels
    assert "| coarse-24 | 24 |" in (out / "design.md").read_text()


def test_data_photos_stop_at_data_max_size_while_native_photos_go_on(tmp_path, import_benchmark):
    run = import_benchmark("run")
    for folder, side in (("data", 48), ("hires", 200)):
        (tmp_path / folder).mkdir()
        pixels = (np.random.default_rng(0).random((side, side, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / folder / "a.png")
    data, hires = f"--data={tmp_path / 'data'}", f"--hires={tmp_path / 'hires'}"
    args = run.parse_args([data, hires, "--sizes", "64", "128", "--data-max-size=64"])
    chosen = run.images_by_size(args)
    assert [dataset for dataset, _ in chosen[64]] == ["data", "hires"]
    assert [dataset for dataset, _ in chosen[128]] == ["hires"]
