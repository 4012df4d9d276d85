"""Guides through the pyramid: sparse resizing, tiles, zero-init surgery, save/load, methods."""

import json

import pytest
import torch
from torch import nn

import pyramidrefine as pr
from pyramidrefine.export import export
from pyramidrefine.guides import add_guide_channels, sparse_resize
from pyramidrefine.methods import METHODS, apply_method
from pyramidrefine.onnx_runtime import OnnxCoarseToFine

# A widened model computes the original's sums plus products with zero weights; the
# convolution kernels may add them in another order, so equality is within float32 rounding.
TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


def tiny(**kwargs) -> pr.CoarseToFine:
    return pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2, **kwargs
    ).eval()


def point_guide(height: int, width: int, y: int, x: int, ab=(0.5, -0.25)) -> torch.Tensor:
    guide = torch.zeros(1, 3, height, width)
    guide[0, :, y, x] = torch.tensor([*ab, 1.0])
    return guide


def test_a_point_hint_survives_shrinking_4k_to_128_px():
    guide = point_guide(2160, 3840, y=1000, x=3001)
    small = sparse_resize(guide, (72, 128))
    cell = (1000 * 72 // 2160, 3001 * 128 // 3840)
    assert small[0, :, cell[0], cell[1]].tolist() == [0.5, -0.25, 1.0]
    assert int(small[0, 2].sum()) == 1 and float(small[:, :2].abs().sum()) == 0.75


def test_hints_in_one_cell_average_and_empty_cells_stay_zero():
    guide = point_guide(8, 8, 0, 0, ab=(0.2, 0.4))
    guide[0, :, 1, 1] = torch.tensor([0.6, 0.0, 1.0])
    small = sparse_resize(guide, (2, 2))
    torch.testing.assert_close(small[0, :, 0, 0], torch.tensor([0.4, 0.2, 1.0]))
    assert float(small[0, :, 1:, :].abs().sum() + small[0, :, :, 1:].abs().sum()) == 0
    assert sparse_resize(guide, (8, 8)) is guide


def test_the_guide_changes_the_output_and_none_is_the_zero_guide():
    model = tiny(guide_channels=3)
    assert model.generator_in_channels == 7
    x = torch.rand(1, 1, 32, 40) * 2 - 1
    with torch.no_grad():
        plain = model(x)
        zero = model(x, guide=torch.zeros(1, 3, 32, 40))
        hinted = model(x, guide=point_guide(32, 40, 10, 12))
        levels = model.forward_levels(x, guide=point_guide(32, 40, 10, 12))
    torch.testing.assert_close(plain, zero, rtol=0, atol=0)
    assert not torch.allclose(plain, hinted)
    torch.testing.assert_close(levels[-1], hinted)


def guide_reader(in_channels: int, out_channels: int) -> nn.Module:
    """A 1×1 convolution that outputs the guide's ab (channels 4 and 5 of 7)."""
    conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 4] = conv.weight[1, 5] = 1.0
    return conv


def test_each_tile_sees_the_hints_inside_it():
    model = pr.CoarseToFine(
        guide_reader, in_channels=1, out_channels=2, levels=2, guide_channels=3, tile=16, overlap=4
    )
    guide = torch.zeros(1, 3, 40, 56)
    for y, x in [(3, 5), (20, 30), (37, 50)]:  # in different tiles of the finest level
        guide[0, :, y, x] = torch.tensor([0.3 + y / 100, -0.1, 1.0])
    with torch.no_grad():
        coarse, fine = model.forward_levels(torch.zeros(1, 1, 40, 56), guide=guide)
    torch.testing.assert_close(fine, guide[:, :2])
    torch.testing.assert_close(coarse, sparse_resize(guide, (20, 28))[:, :2])


def test_a_guide_for_a_model_without_guide_channels_or_of_the_wrong_shape_is_refused():
    x = torch.zeros(1, 1, 16, 16)
    with pytest.raises(pr.InvalidInputError, match="takes no guide"):
        tiny()(x, guide=torch.zeros(1, 3, 16, 16))
    with pytest.raises(pr.InvalidInputError, match=r"expected a guide of shape \(1, 3, 16, 16\)"):
        tiny(guide_channels=3)(x, guide=torch.zeros(1, 3, 8, 16))
    with pytest.raises(pr.InvalidInputError, match="floating-point"):
        tiny(guide_channels=3)(x, guide=torch.zeros(1, 3, 16, 16, dtype=torch.long))


def test_guide_channels_are_bounded():
    with pytest.raises(pr.ConfigurationError, match="guide_channels must be at most 8"):
        tiny(guide_channels=9)
    with pytest.raises(pr.ConfigurationError, match="guide_channels must be at least 0"):
        tiny(guide_channels=-1)


def test_widened_unet_without_hints_equals_the_original():
    model = tiny()
    widened = add_guide_channels(model, 3)
    assert widened.guide_channels == 3 and model.guide_channels == 0
    assert widened.generators[0].stem[0].in_channels == 7  # the original keeps 4
    x = torch.rand(2, 1, 48, 40) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(widened(x), model(x), **TOLERANCE)
        torch.testing.assert_close(
            widened(x, guide=torch.zeros(2, 3, 48, 40)), model(x), **TOLERANCE
        )
        hinted = widened(x, guide=point_guide(48, 40, 5, 5).expand(2, -1, -1, -1))
        torch.testing.assert_close(hinted, model(x), **TOLERANCE)  # hints count once trained


def test_widened_smp_lite0_without_hints_equals_the_original():
    model = pr.CoarseToFine(
        "smp",
        encoder_name="tu-tf_efficientnet_lite0",
        encoder_weights=None,
        decoder_channels=[16, 8, 8, 8, 8],
        in_channels=1,
        out_channels=2,
        base_size=64,
        refinement="detail",
    ).eval()
    widened = add_guide_channels(model, 3).eval()
    stem = widened.generators[0].encoder.model.conv_stem
    assert stem.in_channels == 7 and float(stem.weight.detach()[:, 4:].abs().sum()) == 0
    x = torch.rand(1, 1, 96, 80) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(widened(x), model(x), **TOLERANCE)


def test_prior_init_copies_the_priors_weights_and_still_changes_nothing_without_hints():
    model = tiny()
    widened = add_guide_channels(model, 3, init="prior")
    stem = widened.generators[0].stem[0].weight.detach()
    torch.testing.assert_close(stem[:, 4:], stem[:, 1:4])  # a, b and the flag's weights
    x = torch.rand(1, 1, 48, 40) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(widened(x), model(x), **TOLERANCE)
        hinted = widened(x, guide=point_guide(48, 40, 5, 5))
    assert float((hinted - model(x)).abs().max()) > 1e-3  # a hint counts from the start
    with pytest.raises(pr.ConfigurationError, match="copies the prior's 3 channels"):
        add_guide_channels(model, 2, init="prior")
    with pytest.raises(pr.ConfigurationError, match="init must be one of zeros, prior"):
        add_guide_channels(model, 3, init="random")


def test_add_guide_channels_refuses_what_it_cannot_widen():
    with pytest.raises(pr.ConfigurationError, match="adds 1 or more"):
        add_guide_channels(tiny(), 0)
    with pytest.raises(pr.ConfigurationError, match="at most 8"):
        add_guide_channels(tiny(guide_channels=3), 6)
    normed = tiny()
    first = normed.generators[0].stem[0]
    torch.nn.utils.parametrizations.weight_norm(first)
    with pytest.raises(pr.ConfigurationError, match="grouped or parametrized"):
        add_guide_channels(normed, 3)
    flat = pr.CoarseToFine(nn.Sequential(nn.Identity()), in_channels=1, out_channels=1, levels=1)
    with pytest.raises(pr.ConfigurationError, match="found none"):
        add_guide_channels(flat, 3)


def test_a_widened_model_saves_and_loads_its_guide_channels(tmp_path):
    widened = add_guide_channels(tiny(), 3)
    with torch.no_grad():
        widened.generators[0].stem[0].weight[:, 4:] = 0.3  # as if fine-tuned
    widened.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["guide_channels"] == 3
    loaded = pr.load_model(tmp_path).eval()
    x, guide = torch.rand(1, 1, 32, 32), point_guide(32, 32, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, guide=guide), widened.eval()(x, guide=guide))


def test_a_saved_config_with_too_many_guide_channels_is_refused(tmp_path):
    tiny().save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "guide_channels": 99}))
    with pytest.raises(pr.CheckpointError, match="guide_channels must be at most 8"):
        pr.load_model(tmp_path)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_passes_the_guide_through(method):
    model = tiny(guide_channels=3)
    x, guide = torch.rand(1, 1, 64, 48), point_guide(64, 48, 30, 20)
    options = {"base_size": 32} if method.startswith("lowres") or method == "patchwise" else {}
    run = apply_method(model, method, **options)
    with torch.no_grad():
        assert not torch.allclose(run(x, guide=guide), run(x))
    view = model.with_settings(levels=1)
    assert view.guide_channels == 3


def test_an_onnx_export_of_a_guide_model_runs_without_hints(tmp_path):
    model = add_guide_channels(tiny(), 3)
    export(model, tmp_path, "onnx")
    assert json.loads((tmp_path / "pyramid.json").read_text())["guide_channels"] == 3
    x = torch.rand(1, 1, 40, 32) * 2 - 1
    with torch.no_grad():
        expected = model(x).numpy()
    assert abs(OnnxCoarseToFine(tmp_path)(x.numpy()) - expected).max() < 1e-4
