"""backend='torch' | 'onnxruntime' | 'auto': the same output, tiling and memory budget;
the export built once per model into the cache; auto measured once per size bucket and
torch whenever onnxruntime cannot run."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from PIL import Image
from torch import nn

import pyramidrefine as pr
from pyramidrefine import backends
from pyramidrefine.cli import main
from pyramidrefine.errors import ConfigurationError, MissingExtraError


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(backends.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def grey(height: int, width: int) -> torch.Tensor:
    return torch.rand(1, 1, height, width, generator=torch.Generator().manual_seed(1))


def exports(cache) -> list:
    return sorted((cache / "onnx").glob("*/pyramid.json"))


def test_onnxruntime_matches_torch_within_tolerance(tiny_colorizer, cache) -> None:
    image = grey(70, 90)
    expected = pr.Colorizer(tiny_colorizer, backend="torch")(image)
    colorizer = pr.Colorizer(tiny_colorizer, backend="onnxruntime")
    assert (colorizer.backend, colorizer.precision) == ("onnxruntime", "fp32")
    assert all(isinstance(g, backends.OnnxGenerator) for g in colorizer.runner.generators)
    assert float((colorizer(image) - expected).abs().mean()) < backends.AGREEMENT
    assert len(exports(cache)) == 1


def test_export_is_built_once_per_model(tiny_colorizer, cache, monkeypatch) -> None:
    pr.Colorizer(tiny_colorizer, backend="onnxruntime")
    monkeypatch.setattr(backends, "export", lambda *a: pytest.fail("exported twice"))
    pr.Colorizer(tiny_colorizer, backend="onnxruntime")
    other = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    )
    assert backends.model_key(other.eval()) != backends.model_key(tiny_colorizer)


def test_memory_budget_plans_the_same_tiles(tiny_colorizer) -> None:
    budget = 400_000
    image = grey(96, 128)
    torch_run = pr.Colorizer(tiny_colorizer, backend="torch", memory_budget=budget)
    onnx_run = pr.Colorizer(tiny_colorizer, backend="onnxruntime", memory_budget=budget)
    x = torch.zeros(1, 1, 96, 128)
    plans = [run.runner.tile_plan(1, x) for run in (torch_run, onnx_run)]
    assert plans[0] == plans[1] and plans[0].tile is not None  # tiled, alike
    difference = (onnx_run(image) - torch_run(image)).abs().mean()
    assert float(difference) < backends.AGREEMENT


def test_auto_measures_once_per_bucket_and_keeps_small_inputs_on_torch(
    tiny_colorizer, cache, monkeypatch
) -> None:
    colorizer = pr.Colorizer(tiny_colorizer, precision="fp32")
    assert colorizer.backend == "auto"
    small = grey(60, 80)
    torch.testing.assert_close(
        colorizer(small), pr.Colorizer(tiny_colorizer, backend="torch", precision="fp32")(small)
    )
    assert exports(cache) == []  # below MIN_SIDE: nothing exported, nothing measured
    large = grey(backends.MIN_SIDE, backends.MIN_SIDE + 8)
    result = colorizer(large)
    (decisions,) = [json.loads(p.read_text()) for p in (cache / "onnx").glob("*/decisions.json")]
    (entry,) = decisions.values()
    assert entry["backend"] in ("torch", "onnxruntime") and entry["torch"] > 0
    expected = pr.Colorizer(tiny_colorizer, backend="torch")(large)
    assert float((result - expected).abs().mean()) < backends.AGREEMENT
    monkeypatch.setattr(backends.AutoBackend, "measure", lambda *a: pytest.fail("measured twice"))
    pr.Colorizer(tiny_colorizer, precision="fp32")(large)  # a new process would read it too


def test_auto_uses_the_measured_faster_backend(tiny_colorizer, monkeypatch) -> None:
    for faster, side in (("onnxruntime", 300), ("torch", 600)):  # buckets 512 and 1024
        monkeypatch.setattr(
            backends.AutoBackend, "measure", lambda self, bucket, b=faster: {"backend": b}
        )
        colorizer = pr.Colorizer(tiny_colorizer, precision="fp32")
        chosen = colorizer.runner.predictor(side, side)
        expected = colorizer.runner.onnx_predict if faster == "onnxruntime" else colorizer.predict
        assert chosen is expected


def test_without_onnxruntime_auto_is_torch_and_explicit_names_the_extra(
    tiny_colorizer, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    assert pr.Colorizer(tiny_colorizer).backend == "torch"
    with pytest.raises(MissingExtraError, match=r"needs the onnxruntime package.*\[export\]"):
        pr.Colorizer(tiny_colorizer, backend="onnxruntime")


def test_auto_falls_back_to_torch_when_the_export_fails(tiny_colorizer, monkeypatch) -> None:
    def refuse(*args):
        raise RuntimeError("Unsupported: an operator ONNX lacks\nmore lines")

    monkeypatch.setattr(backends, "export", refuse)
    colorizer = pr.Colorizer(tiny_colorizer, precision="fp32")
    image = grey(backends.MIN_SIDE, backends.MIN_SIDE)
    with pytest.warns(UserWarning, match="using torch, not onnxruntime .Unsupported"):
        result = colorizer(image)
    torch.testing.assert_close(
        result, pr.Colorizer(tiny_colorizer, backend="torch", precision="fp32")(image)
    )


@pytest.mark.filterwarnings("ignore:bf16 on a CPU")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "tensorrt"}, "unknown backend 'tensorrt'"),
        ({"backend": "onnxruntime", "precision": "bf16"}, "float32 graph"),
    ],
)
def test_bad_backend_options_are_one_line(tiny_colorizer, options, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        pr.Colorizer(tiny_colorizer, **options)


def test_pipeline_folds_a_copy_and_leaves_the_model_trainable(tiny_colorizer) -> None:
    colorizer = pr.Colorizer(tiny_colorizer, backend="torch")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in colorizer.predict.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in tiny_colorizer.train().modules())


def test_cli_backend_option(tmp_path, tiny_colorizer, capsys) -> None:
    tiny_colorizer.save_pretrained(tmp_path / "model")
    Image.new("L", (40, 30), 128).save(tmp_path / "a.png")
    args = ["colorize", str(tmp_path / "a.png"), "--out", str(tmp_path / "out")]
    args += ["--model", str(tmp_path / "model"), "--backend", "onnxruntime"]
    assert main(args) == 0
    assert (tmp_path / "out" / "a_color.png").is_file()
    with pytest.raises(SystemExit):
        main([*args[:-1], "tensorrt"])
    assert "invalid choice: 'tensorrt'" in capsys.readouterr().err


def test_onnxruntime_runs_a_coarse_generator_and_a_refiner() -> None:
    model = pr.CoarseToFine(
        "unet",
        in_channels=1,
        out_channels=2,
        levels=3,
        base_channels=4,
        depth=2,
        refiner={"base_channels": 2},
    ).eval()
    image = grey(64, 80)
    expected = pr.Colorizer(model, backend="torch")(image)
    colorizer = pr.Colorizer(model, backend="onnxruntime")
    assert len(colorizer.runner.generators) == 2
    assert float((colorizer(image) - expected).abs().mean()) < backends.AGREEMENT
