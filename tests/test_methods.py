import pytest
import torch

import pyramidrefine as pr
from pyramidrefine.methods import upsample_guided
from pyramidrefine.tiling import resize

SETTINGS = {
    "pyramid": {},
    "pyramid-tiled": {"tile": 24, "overlap": 8},
    "baseline": {},
    "patchwise": {"tile": 24},
    "lowres": {"base_size": 16},
    "lowres-guided": {"base_size": 16},
}


@pytest.fixture
def luminance() -> torch.Tensor:
    return torch.rand(1, 1, 48, 40) * 2 - 1


@torch.inference_mode()
def test_every_method_keeps_the_size_and_only_pyramid_tiled_matches_pyramid(
    tiny_colorizer, luminance
):
    assert set(SETTINGS) == set(pr.METHODS)
    outputs = {
        method: pr.apply_method(tiny_colorizer, method, **settings)(luminance)
        for method, settings in SETTINGS.items()
    }
    for method, output in outputs.items():
        assert output.shape == (1, 2, 48, 40), method
    pyramid = outputs["pyramid"]
    for method in ("baseline", "patchwise", "lowres", "lowres-guided", "pyramid-tiled"):
        assert (outputs[method] - pyramid).abs().max() > 1e-4, method
    untiled = pr.apply_method(tiny_colorizer, "pyramid-tiled", tile=64)(luminance)
    torch.testing.assert_close(untiled, pyramid)  # one tile covers the image


@torch.inference_mode()
def test_lowres_is_a_bilinear_upsampling_of_a_small_prediction(tiny_colorizer, luminance):
    output = pr.apply_method(tiny_colorizer, "lowres", base_size=16)(luminance)
    # base_size=16 makes the pyramid a single level at 16 px: one pass there
    small = tiny_colorizer.with_settings(levels=1)(resize(luminance, (16, 13)))
    torch.testing.assert_close(output, resize(small, (48, 40)))
    roughness = {  # mean absolute second difference along the rows
        name: ab.diff(n=2, dim=-1).abs().mean()
        for name, ab in (("lowres", output), ("pyramid", tiny_colorizer(luminance)))
    }
    assert roughness["lowres"] < roughness["pyramid"] / 3


@torch.inference_mode()
def test_lowres_never_enlarges(tiny_colorizer, luminance):
    # with the model's own settings (levels=2, working size 256) a 48 px input runs as is
    output = pr.apply_method(tiny_colorizer, "lowres")(luminance)
    torch.testing.assert_close(output, tiny_colorizer(luminance))


def test_guided_upsampling_puts_the_colour_edge_on_the_guidance_edge():
    guidance = torch.zeros(1, 1, 64, 64)
    guidance[..., 32:] = 1.0  # a sharp vertical edge
    small = torch.zeros(1, 2, 8, 8)
    small[..., 4:] = 1.0  # the same edge, at 1/8 of the size
    bilinear = resize(small, (64, 64))
    guided = upsample_guided(small, guidance)
    assert guided.shape == bilinear.shape
    jump = {
        name: (ab[..., 32] - ab[..., 31]).min()
        for name, ab in (("bilinear", bilinear), ("guided", guided))
    }
    assert jump["bilinear"] < 0.2 and jump["guided"] > 0.5


def test_base_size_tile_and_defaults(tiny_colorizer):
    assert pr.apply_method(tiny_colorizer, "pyramid", base_size=32).base_size == 32
    tiled = pr.apply_method(tiny_colorizer, "pyramid-tiled")
    assert (tiled.levels, tiled.tile, tiled.overlap) == (2, 512, 64)
    patchwise = pr.apply_method(tiny_colorizer, "patchwise")
    assert (patchwise.levels, patchwise.tile, patchwise.overlap) == (1, 256, 64)
    small = pr.apply_method(tiny_colorizer, "patchwise", base_size=32)
    assert (small.tile, small.overlap) == (32, 8)
    assert pr.apply_method(tiny_colorizer, "baseline").levels == 1


def test_unknown_method_and_unused_options_are_refused(tiny_colorizer):
    with pytest.raises(pr.ConfigurationError, match="known: pyramid, pyramid-tiled, baseline"):
        pr.apply_method(tiny_colorizer, "bicubic")
    with pytest.raises(pr.ConfigurationError, match="'lowres' does not take tile"):
        pr.apply_method(tiny_colorizer, "lowres", tile=64)


def test_colorize_runs_a_method(tiny_colorizer):
    rgb = torch.rand(1, 3, 40, 32)
    lowres = pr.colorize(rgb, tiny_colorizer, method="lowres", base_size=16)
    pyramid = pr.colorize(rgb, tiny_colorizer)
    assert lowres.shape == rgb.shape and (lowres - pyramid).abs().max() > 1e-3


def test_one_table_of_methods_feeds_the_library_the_help_and_the_demo():
    from pyramidrefine.choices import METHOD_TABLE
    from pyramidrefine.cli.colorize import METHODS_HELP
    from pyramidrefine.methods import BUILDERS

    assert tuple(METHOD_TABLE) == pr.METHODS == tuple(BUILDERS)
    for method in METHOD_TABLE.values():
        assert f"  {method.name} " in METHODS_HELP
        assert method.help.split()[0] in METHODS_HELP
    assert "[no settings]" in METHODS_HELP  # baseline takes none of --tile/--overlap/--base-size


@pytest.mark.parametrize("method", pr.METHODS)
def test_each_method_applies_its_settings_in_one_view(tiny_colorizer, monkeypatch, method):
    from pyramidrefine.choices import METHOD_TABLE

    calls = []
    original = pr.CoarseToFine.with_settings

    def counted(self, **settings):
        calls.append(settings)
        return original(self, **settings)

    monkeypatch.setattr(pr.CoarseToFine, "with_settings", counted)
    given = {"tile": 96, "overlap": 16, "base_size": 32}
    options = {k: v for k, v in given.items() if k in METHOD_TABLE[method].options}
    predictor = pr.apply_method(tiny_colorizer, method, memory_budget=2**30, **options)
    assert len(calls) == 1, calls
    model = getattr(predictor, "model", predictor)
    assert model.memory_budget == (None if method == "baseline" else 2**30)
    if "tile" in options:
        assert (model.tile, model.overlap) == (96, 16)
    unused = set(given) - METHOD_TABLE[method].options
    if unused:  # what the table says a method does not take is refused
        with pytest.raises(pr.ConfigurationError, match="does not take"):
            pr.apply_method(tiny_colorizer, method, **{k: given[k] for k in unused})


def test_the_pyramid_without_settings_is_the_model_itself(tiny_colorizer):
    assert pr.apply_method(tiny_colorizer, "pyramid") is tiny_colorizer
    assert pr.apply_method(tiny_colorizer, "lowres").model is tiny_colorizer
