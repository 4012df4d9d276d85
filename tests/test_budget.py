"""Memory budgets: levels that would not fit run in batches of tiles that fit."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import pyramidrefine as pr
from pyramidrefine import inference, profiling, tile_planner
from pyramidrefine.tile_planner import TilePlan


@pytest.fixture
def model():
    """A small pyramid (64 px coarsest level, pad multiple 4) in eval mode."""
    return pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, base_size=64, base_channels=8, depth=2
    ).eval()


def smooth(height, width):
    return torch.nn.functional.avg_pool2d(torch.rand(1, 1, height, width), 5, 1, 2)


def final_plan(model, height, width):
    level = model.num_levels(height, width) - 1
    return model.tile_plan(level, torch.zeros(1, 1, height, width))


def test_a_budget_keeps_every_tensor_of_the_forward_within_it(model):
    x = smooth(256, 384)
    with torch.inference_mode():
        unbounded_peak, reference = profiling.peak_tensor_bytes(model, x)
        budget = unbounded_peak // 2
        bounded = model.with_settings(memory_budget=budget)
        peak, output = profiling.peak_tensor_bytes(bounded, x)
        plan = final_plan(bounded, 256, 384)
    assert plan.tile is not None and peak <= budget < unbounded_peak
    assert (output - reference).abs().mean() < 0.01 * reference.abs().mean()


def test_levels_that_fit_run_in_one_pass_and_the_output_is_unchanged(model):
    x = smooth(100, 150)
    bounded = model.with_settings(memory_budget=2**30)
    assert final_plan(bounded, 100, 150).tile is None
    with torch.inference_mode():
        torch.testing.assert_close(bounded(x), model(x), atol=0, rtol=0)


def test_without_a_budget_nothing_tiles(model):
    assert final_plan(model, 4000, 3000).tile is None


def test_budget_tiles_fit_and_cover_with_little_overlap_work(model):
    with torch.inference_mode():
        bytes_per_pixel = model.activation_bytes_per_pixel(0, torch.zeros(1, 1, 8, 8))
    budget = int(4 * 3000 * 4000 * 6 + 1.25 * bytes_per_pixel * 1_000_000)  # ≈ 1 MP of tiles
    bounded = model.with_settings(memory_budget=budget)
    tile_h, tile_w = final_plan(bounded, 3000, 4000).tile
    assert 500_000 < tile_h * tile_w <= 1_000_000
    assert tile_h % 4 == 0 and tile_w % 4 == 0
    starts_h = pr.tiling.tile_starts(3000, tile_h, 32)
    starts_w = pr.tiling.tile_starts(4000, tile_w, 32)
    work = len(starts_h) * len(starts_w) * tile_h * tile_w
    assert work < 1.1 * 3000 * 4000  # overlaps cost under 10 %


def test_an_explicit_tile_wins_and_runs_in_batches(model):
    bounded = model.with_settings(tile=64, overlap=16, memory_budget=2**30)
    plan = final_plan(bounded, 300, 200)
    assert plan.tile == (64, 64) and plan.batch_size > 1
    assert final_plan(bounded, 64, 60).tile is None  # a level within the tile runs whole


def test_batched_tiles_give_the_tile_by_tile_output(model):
    x = smooth(300, 200)
    one_by_one = model.with_settings(tile=64, overlap=16)
    batched = one_by_one.with_settings(memory_budget=2**30)
    assert final_plan(one_by_one, 300, 200).batch_size == 1
    assert final_plan(batched, 300, 200).batch_size >= 20  # all tiles of the level at once
    with torch.inference_mode():
        torch.testing.assert_close(batched(x), one_by_one(x), atol=1e-4, rtol=0)


def test_the_pixel_cost_is_probed_once_per_precision(model):
    like = torch.zeros(1, 1, 8, 8)
    with torch.inference_mode():
        fp32 = model.activation_bytes_per_pixel(0, like)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model.activation_bytes_per_pixel(0, like)
    assert fp32 > 0 and bf16 < 0.75 * fp32
    assert len(model._bytes_per_pixel) == 2


def test_the_budget_is_not_saved_with_the_model(model, tmp_path):
    model.with_settings(memory_budget=2**30, tile=64).save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["tile"] == 64 and "memory_budget" not in config
    assert pr.CoarseToFine.from_pretrained(tmp_path / "m").memory_budget is None


@pytest.mark.parametrize("budget", [0, -5, 1.5, "1G"])
def test_bad_budgets_are_refused(model, budget):
    with pytest.raises(pr.ConfigurationError, match="memory_budget"):
        model.with_settings(memory_budget=budget)


def test_every_method_but_baseline_takes_the_budget(model):
    for method in ("pyramid", "pyramid-tiled", "patchwise"):
        assert pr.apply_method(model, method, memory_budget=2**20).memory_budget == 2**20
    assert pr.apply_method(model, "lowres", memory_budget=2**20).model.memory_budget == 2**20
    assert pr.apply_method(model, "baseline", memory_budget=2**20).memory_budget is None


def test_colour_conversions_in_bands_give_the_same_picture(model, monkeypatch):
    rgb = np.random.default_rng(0).random((90, 70, 3)).astype(np.float32)
    whole = pr.colorize(rgb, model=model, memory_budget=None)
    monkeypatch.setattr(inference, "COLOUR_BAND_BYTES", inference.COLOUR_BYTES_PER_PIXEL * 70 * 7)
    banded = pr.colorize(rgb, model=model, memory_budget=2**30)  # 13 bands; the model runs whole
    np.testing.assert_allclose(banded, whole, atol=1e-6, rtol=0)  # vector-kernel rounding


def test_colorize_is_bounded_by_default(model, monkeypatch):
    monkeypatch.setattr(pr.hardware, "available_memory", lambda device="cpu": 4 * 2**30)
    colorizer = pr.Colorizer(model)
    assert colorizer.memory_budget == 2**30
    assert colorizer.predict.memory_budget == 2**30
    assert pr.Colorizer(model, memory_budget=None).predict.memory_budget is None


def test_the_probe_leaves_a_training_model_untouched(model):
    model.train()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    model.activation_bytes_per_pixel(0, torch.ones(1, 1, 8, 8))
    assert model.training and all(module.training for module in model.modules())
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, before[name], atol=0, rtol=0)


def test_the_tile_planner_plans_from_plain_values_as_the_model_does(model):
    with torch.inference_mode():
        cost = model.activation_bytes_per_pixel(0, torch.zeros(1, 1, 8, 8))
    budget = int(4 * 3000 * 4000 * 6 + 1.25 * cost * 300_000)
    plan = tile_planner.plan_level(
        3000,
        4000,
        batch=1,
        tile=None,
        overlap=32,
        pad_multiple=4,
        memory_budget=budget,
        buffer_channels=1 + 2 * 2 + 1,
        bytes_per_pixel=lambda: cost,
    )
    assert plan.tile is not None and plan.tile[0] * plan.tile[1] <= 300_000
    assert plan == final_plan(model.with_settings(memory_budget=budget), 3000, 4000)


def test_the_tile_planner_imports_no_torch():
    code = "import sys\nfrom pyramidrefine import tile_planner\nprint('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr


def test_the_pixel_cost_is_probed_only_when_the_budget_decides(model):
    def probe():
        raise AssertionError("probed")

    plain = dict(batch=1, overlap=8, pad_multiple=4, buffer_channels=6, bytes_per_pixel=probe)
    plan = tile_planner.plan_level
    assert plan(500, 500, tile=None, memory_budget=None, **plain) == TilePlan(None)
    assert plan(500, 500, tile=64, memory_budget=None, **plain) == TilePlan((64, 64))
    assert plan(60, 60, tile=64, memory_budget=2**30, **plain) == TilePlan(None)
    final_plan(model.with_settings(tile=64), 500, 500)
    assert model._bytes_per_pixel == {}  # no probe pass ran


def test_what_the_caller_holds_comes_off_the_pyramids_share():
    gib = 2**30
    assert tile_planner.pyramid_budget(None) is None
    assert tile_planner.pyramid_budget(gib) == gib
    with tile_planner.reserved_memory(gib // 4):
        assert tile_planner.pyramid_budget(gib) == gib - gib // 4
    with tile_planner.reserved_memory(2 * gib):  # never under the floor, nor over the budget
        assert tile_planner.pyramid_budget(gib) == tile_planner.MIN_PYRAMID_BYTES
        assert tile_planner.pyramid_budget(1000) == 1000
    assert tile_planner.pyramid_budget(gib) == gib  # the block's reservation is gone


def test_a_call_reserves_the_runtime_and_the_photos_full_size_buffers(model, monkeypatch):
    seen = []
    plan = tile_planner.plan_level
    monkeypatch.setattr(
        tile_planner,
        "plan_level",
        lambda *args, **kwargs: seen.append(kwargs["memory_budget"]) or plan(*args, **kwargs),
    )
    budget = 4 * 2**30
    colorizer = pr.Colorizer(model, memory_budget=budget, backend="torch")
    colorizer.runtime_bytes = 2**30
    colorizer(np.zeros((96, 128), np.uint8))
    held = 2**30 + inference.FULL_SIZE_BYTES_PER_PIXEL * 96 * 128
    assert seen and set(seen) == {budget - held}
    # a runtime larger than the budget leaves the pyramid its floor
    colorizer.runtime_bytes = 5 * 2**30
    seen.clear()
    colorizer(np.zeros((96, 128), np.uint8))
    assert set(seen) == {tile_planner.MIN_PYRAMID_BYTES}
