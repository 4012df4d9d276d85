import pytest
import torch
from kornia.color import rgb_to_lab

import pyramidrefine as pr


@pytest.fixture
def task():
    return pr.ColorizationTask()


def test_lab_round_trip(task):
    rgb = torch.rand(2, 3, 40, 30)
    L, ab = task.prepare(rgb)
    assert (task.render(L, ab) - rgb).abs().max() < 1e-3


def test_normalised_ranges(task):
    rgb = torch.rand(1, 3, 64, 64)
    rgb[..., 0, 0] = 0.0
    rgb[..., 0, 1] = 1.0
    L, ab = task.prepare(rgb)
    assert L.shape == (1, 1, 64, 64) and ab.shape == (1, 2, 64, 64)
    assert L.min() >= -1 - 1e-5 and L.max() <= 1 + 1e-5
    assert ab.abs().max() <= 1.2


@pytest.mark.parametrize("chroma", [0.3, 1.0, 3.0])
def test_render_keeps_L_even_out_of_gamut(task, chroma):
    L, _ = task.prepare(torch.rand(2, 3, 32, 32))
    ab = torch.randn(2, 2, 32, 32) * chroma
    rgb = task.render(L, ab)
    assert rgb.min() >= 0 and rgb.max() <= 1
    rendered_L = rgb_to_lab(rgb)[:, :1] / 50 - 1
    assert (rendered_L - L).abs().max() < 1e-4


def test_render_keeps_in_gamut_colours(task):
    rgb = torch.rand(1, 3, 16, 16) * 0.6 + 0.2
    L, ab = task.prepare(rgb)
    torch.testing.assert_close(task.render(L, ab), rgb, atol=1e-4, rtol=0)


def test_grey_input_has_zero_chroma(task):
    grey = torch.rand(1, 1, 8, 8)
    L = task.luminance(grey)
    _, ab = task.prepare(grey.expand(-1, 3, -1, -1))
    assert L.shape == (1, 1, 8, 8) and ab.abs().max() < 1e-3


def test_prepare_refuses_non_rgb(task):
    with pytest.raises(pr.InvalidInputError, match="B×3×H×W"):
        task.prepare(torch.rand(1, 1, 8, 8))


def test_luminance_is_kornias_lightness_for_colour_grey_and_expanded_grey(task):
    rgb = torch.rand(2, 3, 30, 20)
    rgb[0, :, 0, :4], rgb[0, :, 1, :4] = 0.0, 1.0  # black and white
    grey = torch.rand(2, 1, 30, 20)
    for image, full in ((rgb, rgb), (grey, grey.expand(-1, 3, -1, -1))):
        expected = rgb_to_lab(full.contiguous())[:, :1] / 50 - 1
        torch.testing.assert_close(task.luminance(image), expected, atol=1e-6, rtol=0)
        torch.testing.assert_close(task.luminance(full), expected, atol=1e-6, rtol=0)
