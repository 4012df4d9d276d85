import pytest
import torch

from pyramidrefine import CoarseToFine
from pyramidrefine.bands import detail_band
from pyramidrefine.errors import ConfigurationError
from pyramidrefine.tiling import resize


def tiny(refinement: str, **settings) -> CoarseToFine:
    torch.manual_seed(0)
    model = CoarseToFine(
        "unet",
        in_channels=1,
        out_channels=2,
        base_channels=4,
        depth=2,
        refinement=refinement,
        **settings,
    )
    return model.eval()


def test_detail_band_of_a_smooth_image_is_small_and_of_noise_is_most_of_it():
    smooth = resize(torch.randn(1, 2, 4, 4), (64, 64))
    noise = torch.randn(1, 2, 64, 64)
    assert detail_band(smooth).abs().mean() < 0.1 * smooth.abs().mean()
    assert detail_band(noise).abs().mean() > 0.5 * noise.abs().mean()
    assert detail_band(torch.full((1, 2, 9, 7), 3.0)).abs().max() < 1e-5


@torch.no_grad()
def test_detail_refinement_keeps_the_coarse_colour_that_full_refinement_redecides():
    x = torch.rand(1, 1, 128, 128) * 2 - 1
    departures = {}
    for refinement in ("full", "detail"):
        levels = tiny(refinement, levels=3).forward_levels(x)
        coarse, final = levels[0], levels[-1]
        departures[refinement] = (resize(final, coarse.shape[-2:]) - coarse).abs().mean()
    assert departures["detail"] < 0.3 * departures["full"]


@torch.no_grad()
def test_decision_levels_run_full_and_the_finer_levels_add_only_detail():
    x = torch.rand(1, 1, 128, 128) * 2 - 1
    full = tiny("full", levels=4).forward_levels(x)
    decided = tiny("detail", levels=4, decision_levels=2).forward_levels(x)
    for level in (0, 1):  # the two coarsest levels decide as under "full"
        torch.testing.assert_close(decided[level], full[level])
    for level in (2, 3):  # the finer ones keep their prior's low band; "full" redecides it
        changes = {}
        for name, levels in (("decided", decided), ("full", full)):
            size, coarser = levels[level].shape[-2:], levels[level - 1].shape[-2:]
            change = levels[level] - resize(levels[level - 1], size)
            changes[name] = resize(change, coarser).abs().mean()
        assert changes["decided"] < 0.3 * changes["full"]


@pytest.mark.parametrize(
    ("setting", "saved", "viewed", "refused", "least"),
    [("decision_levels", 2, 3, 0, 1), ("margin", 6, 0, -1, 0), ("dither_from", 2, 1, -1, 0)],
)
def test_the_setting_is_saved_and_a_view_can_change_it(
    tmp_path, setting, saved, viewed, refused, least
):
    tiny("detail", levels=3, **{setting: saved}).save_pretrained(tmp_path / "model")
    loaded = CoarseToFine.from_pretrained(tmp_path / "model")
    assert getattr(loaded, setting) == saved
    assert getattr(loaded.with_settings(**{setting: viewed}), setting) == viewed
    with pytest.raises(ConfigurationError, match=f"{setting} must be at least {least}"):
        loaded.with_settings(**{setting: refused})


@torch.no_grad()
def test_detail_refinement_runs_tiled_and_gives_the_input_size():
    model = tiny("detail", levels=2, tile=32, overlap=8)
    assert model(torch.rand(1, 1, 50, 70)).shape == (1, 2, 50, 70)


def test_refinement_is_saved_and_loaded(tmp_path):
    tiny("detail", levels=2).save_pretrained(tmp_path / "model")
    assert CoarseToFine.from_pretrained(tmp_path / "model").refinement == "detail"


def test_an_unknown_refinement_is_one_clear_error():
    with pytest.raises(ConfigurationError, match="refinement must be one of full, detail"):
        tiny("residual", levels=2)


@torch.no_grad()
def test_a_mirrored_margin_takes_the_frame_that_zero_padding_paints_on_a_flat_image():
    flat = torch.full((1, 1, 64, 48), 0.3)
    spread = {}
    for margin in (0, 16):
        output = tiny("full", levels=1, margin=margin)(flat)
        assert output.shape == (1, 2, 64, 48)
        spread[margin] = output.std(dim=(-2, -1)).max()
    assert spread[16] < 0.1 * spread[0]


@torch.no_grad()
def test_the_margin_is_only_around_levels_that_run_full():
    x = torch.rand(1, 1, 64, 64) * 2 - 1
    plain = tiny("detail", levels=3, decision_levels=2).forward_levels(x)
    framed = tiny("detail", levels=3, decision_levels=2, margin=8).forward_levels(x)
    assert not torch.allclose(framed[1], plain[1])  # a deciding level sees the margin
    prior = resize(framed[1], (64, 64))  # the detail level: its prior plus its own detail band
    generator_input = torch.cat([x, prior, torch.ones_like(x)], dim=1)
    alone = tiny("detail", levels=3, decision_levels=2).generators[0](generator_input)
    torch.testing.assert_close(framed[2], prior + detail_band(alone))


@torch.no_grad()
def test_dither_reaches_the_full_levels_from_dither_from_the_same_for_every_image():
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    plain = tiny("detail", levels=4, decision_levels=3).forward_levels(x)
    dithered = tiny("detail", levels=4, decision_levels=3, dither=0.05, dither_from=2)
    levels = dithered.forward_levels(x)
    for level in (0, 1):  # before dither_from: untouched
        torch.testing.assert_close(levels[level], plain[level])
    assert not torch.allclose(levels[2], plain[2])
    torch.testing.assert_close(dithered(x[1:]), levels[-1][1:])  # batch-independent
    torch.testing.assert_close(dithered(x), levels[-1])  # a fixed field, not a fresh draw


def test_dither_is_a_bounded_number():
    with pytest.raises(ConfigurationError, match=r"dither must be a number from 0\.0 to 1\.0"):
        tiny("full", levels=2).with_settings(dither=2.0)
    with pytest.raises(ConfigurationError, match="dither must be a number"):
        tiny("full", levels=2, dither="0.1")
