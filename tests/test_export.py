"""ONNX export and the NumPy/onnxruntime pyramid agree with the PyTorch model."""

import json

import numpy as np
import pytest
import torch

import pyramidrefine as pr
from pyramidrefine.cli import main as cli_main
from pyramidrefine.errors import ConfigurationError, InvalidInputError
from pyramidrefine.export import export

pytest.importorskip("onnxruntime")
from pyramidrefine.onnx_runtime import OnnxCoarseToFine, resize


def _model(**settings) -> pr.CoarseToFine:
    torch.manual_seed(0)
    model = pr.CoarseToFine(
        "unet", in_channels=3, out_channels=3, base_channels=4, depth=2, **settings
    )
    for module in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.parametrize(
    "settings",
    [
        {"base_size": 24, "tile": 32, "overlap": 8},  # 3 levels, the finest two tiled
        {"levels": 2, "shared": False},  # one generator per level
        {"base_size": 16, "refiner": {"base_channels": 2}},  # coarse + refiner, 3 levels
        {"base_size": 8, "max_levels": 3},  # 4 levels by size, capped at 3
        {"base_size": 24, "tile": 32, "overlap": 8, "refinement": "detail"},
        {"base_size": 12, "refinement": "detail", "decision_levels": 2},  # 4 levels
        {"base_size": 24, "tile": 32, "overlap": 8, "refinement": "detail", "margin": 5},
        {"base_size": 8, "margin": 9},  # the coarsest level smaller than its margin
        {
            "base_size": 12,
            "refinement": "detail",
            "decision_levels": 3,
            "dither": 0.05,
            "dither_from": 1,
            "margin": 3,
        },
    ],
    ids=[
        "tiled",
        "per-level",
        "coarse-and-refiner",
        "max-levels",
        "detail-tiled",
        "decide-2",
        "margin-tiled",
        "margin-wider-than-a-level",
        "dither",
    ],
)
def test_onnx_pyramid_matches_pytorch(tmp_path, settings):
    model = _model(**settings)
    files = export(model, tmp_path)
    assert len(files) == len(model.generators) + 1
    runtime = OnnxCoarseToFine(tmp_path)
    x = torch.rand(2, 3, 61, 45) * 2 - 1
    with torch.no_grad():
        expected = [level.numpy() for level in model.forward_levels(x)]
    actual = runtime.forward_levels(x.numpy())
    assert [a.shape for a in actual] == [e.shape for e in expected]
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, atol=1e-3, rtol=0)


def test_numpy_resize_matches_torch():
    for source, target in [((17, 23), (9, 12)), ((9, 12), (17, 23)), ((33, 7), (8, 2))]:
        x = torch.rand(1, 2, *source)
        np.testing.assert_allclose(
            resize(x.numpy(), target), pr.tiling.resize(x, target).numpy(), atol=1e-5
        )


@pytest.mark.filterwarnings("ignore:`torch.jit")
def test_cli_exports_onnx_and_torchscript(tmp_path, capsys):
    model = _model(levels=2)
    model.save_pretrained(tmp_path / "model")
    args = ["export", "--model", str(tmp_path / "model"), "--tile", "32", "--overlap", "8"]
    assert cli_main(args) == 0
    folder = tmp_path / "model" / "onnx"
    assert json.loads((folder / "pyramid.json").read_text())["tile"] == 32
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 37, 29)).astype(np.float32)
    expected = model.with_settings(tile=32, overlap=8)
    runtime = OnnxCoarseToFine(folder)
    with torch.no_grad():
        np.testing.assert_allclose(
            runtime(x), expected(torch.from_numpy(x)).numpy(), atol=1e-3, rtol=0
        )

    out = tmp_path / "ts"
    args = ["export", "--model", str(tmp_path / "model"), "--format", "torchscript"]
    assert cli_main([*args, "--out", str(out)]) == 0
    traced = torch.jit.load(str(out / "generator-0.pt"))
    z = torch.rand(1, 7, 20, 28)
    with torch.no_grad():
        torch.testing.assert_close(traced(z), model.generators[0](z))
    assert "generator-0.pt" in capsys.readouterr().out


def test_errors_are_clear(tmp_path):
    with pytest.raises(ConfigurationError, match="unknown export format"):
        export(_model(levels=1), tmp_path, "tflite")
    with pytest.raises(pr.CheckpointError, match="not an exported pyramid"):
        OnnxCoarseToFine(tmp_path / "missing")
    export(_model(levels=1), tmp_path)
    with pytest.raises(InvalidInputError, match="B×3×H×W"):
        OnnxCoarseToFine(tmp_path)(np.zeros((1, 1, 8, 8), np.float32))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A one-level export and its ``pyramid.json`` (as written)."""
    folder = tmp_path_factory.mktemp("export") / "onnx"
    export(_model(levels=1), folder)
    return folder, json.loads((folder / "pyramid.json").read_text())


def crafted(tmp_path, exported, change):
    """A copy of the export whose ``pyramid.json`` has ``change`` (or is that raw text)."""
    source, config = exported
    folder = tmp_path / "crafted"
    folder.mkdir()
    (folder / "generator-0.onnx").write_bytes((source / "generator-0.onnx").read_bytes())
    text = change if isinstance(change, str) else json.dumps({**config, **change})
    (folder / "pyramid.json").write_text(text)
    return folder


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"levels": 1_000_000}, "levels must be at most 12"),
        ({"levels": "3"}, "levels must be an integer"),
        ({"pad_multiple": 10**6}, "pad_multiple must be at most"),
        ({"in_channels": None}, "it lacks in_channels"),
        ({"tile": 1, "overlap": 0}, "a saved tile must be at least"),
        ({"tile": 64, "overlap": 64}, "need overlap < tile"),
        ({"generators": ["../x.onnx"]}, "not a plain .onnx file name"),
        ({"generators": ["/etc/x.onnx"]}, "not a plain .onnx file name"),
        ({"generators": ["generator-0.pt"]}, "not a plain .onnx file name"),
        ({"generators": ["missing.onnx"]}, "is not a file in the folder"),
        ({"generators": "generator-0.onnx"}, "generators must be a list"),
        ({"generators": ["generator-0.onnx"] * 3}, "3 generators for levels=1"),
        ({"refinement": "all"}, "refinement must be"),
        ({"decision_levels": 0}, "decision_levels must be at least 1"),
        ({"format": "torchscript"}, "not an ONNX one"),
        ("null", "must hold a JSON object"),
        ("[" * 100_000, "not an exported pyramid"),
    ],
)
def test_a_crafted_pyramid_json_is_one_line(tmp_path, exported, change, pattern):
    with pytest.raises(pr.CheckpointError) as caught:
        OnnxCoarseToFine(crafted(tmp_path, exported, change))
    message = str(caught.value)
    assert "\n" not in message and pattern in message, message


def test_a_generator_linked_from_outside_the_folder_is_refused(tmp_path, exported):
    folder = crafted(tmp_path, exported, {"generators": ["outside.onnx"]})
    (folder / "outside.onnx").symlink_to(exported[0] / "generator-0.onnx")
    with pytest.raises(pr.CheckpointError, match="is not a file in the folder"):
        OnnxCoarseToFine(folder)


def test_small_tiles_are_chosen_at_run_time_not_saved(tmp_path, exported):
    folder = crafted(tmp_path, exported, {"tile": 16, "overlap": 4})
    assert OnnxCoarseToFine(folder, tile=16, overlap=4).tile == 16  # the caller's choice
    with pytest.raises(ConfigurationError, match="choose small tiles at run time"):
        export(_model(levels=1, tile=16, overlap=4), tmp_path / "small")
    assert not (tmp_path / "small").exists()


def test_an_export_under_bf16_autocast_is_a_float32_graph(tmp_path):
    """Pipelines on CPUs with native bf16 export from inside their autocast."""
    model = _model(levels=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        export(model, tmp_path)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(OnnxCoarseToFine(tmp_path)(x.numpy()), expected, atol=1e-3)


def test_a_graph_onnxruntime_refuses_is_one_line(tmp_path, exported):
    folder = crafted(tmp_path, exported, {})
    (folder / "generator-0.onnx").write_bytes(b"not a graph")
    with pytest.raises(pr.CheckpointError, match="onnxruntime cannot open this graph") as caught:
        OnnxCoarseToFine(folder)
    assert "\n" not in str(caught.value)
