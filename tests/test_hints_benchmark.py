"""benchmarks/hints.py on a tiny hint model and 3 tiny photos: outputs, rows, equality, reruns."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr

ROOT = Path(__file__).resolve().parents[1]
COUNTS = [0, 1, 2, 5, 10, 20]


def benchmark_module():
    spec = importlib.util.spec_from_file_location("hints_benchmark", ROOT / "benchmarks/hints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = benchmark_module()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """3 photos of 48×64 px, a tiny base colorizer and its widened copy whose guide
    weights are not zero (as if tuned: hints change the colours), saved."""
    root = tmp_path_factory.mktemp("hints-benchmark")
    photos = root / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        small = (rng.random((4, 5, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((64, 48), Image.BICUBIC).save(photos / f"{i}.png")
    torch.manual_seed(0)
    base = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    ).eval()
    model = pr.add_guide_channels(base, 3)
    with torch.no_grad():
        for generator in model.generators:
            generator.stem[0].weight[:, 4:] = 0.5
    base.save_pretrained(root / "base")
    model.save_pretrained(root / "model")
    return root


def arguments(root: Path, out: Path, *extra: str) -> list[str]:
    return [
        f"--model={root / 'model'}",
        f"--base={root / 'base'}",
        f"--data=photos={root / 'photos'}",
        f"--out={out}",
        *extra,
    ]


@pytest.fixture(scope="module")
def run(setup):
    out = setup / "out"
    bench.main(arguments(setup, out))
    return out


def journal(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_writes_the_journal_table_curve_and_crops(run):
    assert (run / "hints.md").stat().st_size > 0
    for name in ("curve.png", "crops.jpg"):
        with Image.open(run / name) as image:
            assert image.width > 300 and image.height > 100
    results = journal(run)["results"]
    assert set(results) == {"photos/equality", "photos/none/0"} | {
        f"photos/{sampling}/{count}" for sampling in ("random", "saturated") for count in COUNTS[1:]
    }


def test_table_has_a_row_per_hint_count_for_each_sampling(run):
    text = (run / "hints.md").read_text()
    section = text.split("## photos (3 photos)")[1]
    for title in ("### random pixels", "### most saturated pixels"):
        rows = section.split(title)[1].strip().split("\n\n")[0].splitlines()[2:]
        assert [row.split("|")[1].strip() for row in rows] == [str(c) for c in COUNTS]
        assert rows[0].split("|")[2:4] == [
            f" {journal(run)['results']['photos/none/0']['l1_ab']:.4f} ",
            " 1.00 ",
        ]
    assert "Target (issue 25): with 10 random hints" in text
    assert "![L1(ab) against the number of hints](curve.png)" in text


def test_hints_are_measured_and_change_the_colours(run):
    results = journal(run)["results"]
    none = results["photos/none/0"]
    for sampling in ("random", "saturated"):
        hinted = results[f"photos/{sampling}/20"]
        assert hinted["mean_hints"] == 20 and hinted["l1_ab"] != none["l1_ab"]
        assert 0 <= hinted["hue_hit_rate"] <= 1 and hinted["psnr"] > 0
    assert results["photos/random/5"]["l1_ab"] != results["photos/saturated/5"]["l1_ab"]


def test_no_hint_output_equals_the_base_models(run):
    gaps = journal(run)["results"]["photos/equality"]
    assert gaps["widened_vs_base"] < 1e-4 and gaps["model_vs_base"] < 1e-4  # float rounding
    assert "| photos | " in (run / "hints.md").read_text().split("## No-hint equality")[1]


def test_a_rerun_skips_journalled_rows_and_remeasures_the_missing_equal(setup, run):
    out = setup / "rerun"
    out.mkdir()
    record = journal(run)
    original = record["results"].pop("photos/saturated/2")
    record["results"]["photos/random/1"]["l1_ab"] = 123.0
    (out / "metrics.json").write_text(json.dumps(record))
    bench.main(arguments(setup, out))
    again = journal(out)["results"]
    assert again["photos/random/1"]["l1_ab"] == 123.0  # journalled: not measured again
    assert again["photos/saturated/2"] == original  # seeded: measured again, equal
    assert "| 1 | 123.0000 |" in (out / "hints.md").read_text()


def test_other_settings_or_a_model_with_another_guide_stop_with_one_line(
    setup, run, other_guide_colorizer
):
    with pytest.raises(SystemExit, match=r"other settings \(seed\); give another --out"):
        bench.main(arguments(setup, run, "--seed=1"))
    other_guide_colorizer.save_pretrained(setup / "other")
    args = [f"--model={setup / 'other'}", f"--data=photos={setup / 'photos'}"]
    with pytest.raises(SystemExit, match="takes no colour hints") as error:
        bench.main([*args, f"--out={setup / 'plain'}"])
    assert "\n" not in str(error.value)


def test_saturated_points_take_the_highest_chroma_first_and_spread():
    ab = torch.zeros(1, 2, 10, 12)
    ab[0, 0, 2, 3], ab[0, 0, 2, 4], ab[0, 1, 7, 9] = 0.9, 0.8, -0.5
    assert bench.saturated_points(ab, 2, radius=1) == [(3, 2), (9, 7)]  # (4, 2) excluded
    assert bench.saturated_points(ab, 3, radius=0)[:2] == [(3, 2), (4, 2)]
    corners = [(0, 0), (2, 0), (0, 2), (2, 2)]  # then no pixel is left for a fifth
    assert bench.saturated_points(torch.zeros(1, 2, 3, 3), 5, radius=1) == corners


def test_random_points_are_distinct_seeded_and_hints_hold_the_true_colour():
    ab = torch.zeros(1, 2, 6, 7)
    points = bench.random_points(ab, 42, np.random.default_rng([0, 1]))
    assert len(set(points)) == 42 and all(0 <= x < 7 and 0 <= y < 6 for x, y in points)
    assert points == bench.random_points(ab, 42, np.random.default_rng([0, 1]))
    rgb = torch.zeros(1, 3, 6, 7)
    rgb[0, 0, 0, 0], rgb[0, 2, 1, 1] = 1.0, 1.0
    assert bench.hint_at(rgb, (0, 0), 1) == (0, 0, "#ff0000")
    assert bench.hint_at(rgb, (0, 0), 3) == (0, 0, "#400040", 3)  # the 2×2 inside the image
