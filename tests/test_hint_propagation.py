"""Hints for colorizers without guide channels: the hint residuals spread along L."""

import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.hint_propagation import (
    fade_length,
    propagate_hints,
    spread,
    spread_by_likeness,
)
from pyramidrefine.hints import parse_hints, render_guide
from pyramidrefine.lab import rgb_to_lab


def two_regions(height: int = 40, width: int = 60) -> np.ndarray:
    """L in [0, 100]: a dark left half and a light right half."""
    lightness = np.full((height, width), 30.0)
    lightness[:, width // 2 :] = 70.0
    return lightness


def test_a_hint_fills_its_region_and_stops_at_the_edge():
    lightness = two_regions()
    mask = np.zeros(lightness.shape, bool)
    mask[20, 5] = True
    wanted = np.zeros((2, *lightness.shape))
    wanted[:, 20, 5] = (40.0, -20.0)
    correction = spread(lightness, mask, wanted, length=200.0, edge=5.0)
    assert correction.shape == (2, 40, 60) and correction.dtype == np.float32
    assert correction[0, 20, 5] == pytest.approx(40.0, abs=1.0)  # the hint is met
    assert correction[0, :, 25].mean() > 25.0  # spread over its own half
    assert abs(correction[0, :, 35:]).max() < 1.0  # held at the luminance edge
    np.testing.assert_allclose(correction[1] / correction[0], -0.5, atol=1e-4)


def test_a_hint_fades_over_the_length_in_a_flat_region():
    flat = np.full((20, 200), 50.0)
    mask = np.zeros(flat.shape, bool)
    mask[10, 0] = True
    wanted = np.zeros((2, *flat.shape))
    wanted[0, 10, 0] = 10.0
    short = spread(flat, mask, wanted, length=10.0, edge=5.0)[0, 10]
    long = spread(flat, mask, wanted, length=100.0, edge=5.0)[0, 10]
    assert short[60] < 0.1 * long[60]
    assert np.all(np.diff(long) <= 1e-6)  # falls off monotonically
    assert not spread(flat, np.zeros_like(mask), wanted, 40.0, 5.0).any()  # no hint: no change


def test_the_fade_lengthens_with_the_number_of_separate_hints():
    mask = np.zeros((30, 30), bool)
    mask[5:8, 5:8] = True  # a patch hint: one region
    assert fade_length(mask, 40.0) == pytest.approx(40.0)
    mask[20, 20] = mask[21, 21] = True  # diagonal neighbours: one more region
    mask[5, 25] = mask[25, 5] = True
    assert fade_length(mask, 40.0) == pytest.approx(80.0)
    assert fade_length(np.zeros_like(mask), 40.0) == pytest.approx(40.0)


def test_a_moderate_correction_reaches_alike_pixels_beyond_an_edge_and_a_large_one_does_not():
    lightness = np.full((40, 60), 50.0)
    lightness[:, 28:32] = 58.0  # a faint bar (a tree) between two alike halves
    chroma = np.zeros((2, 40, 60))
    chroma[:, :, 45:] = 20.0  # the far right looks otherwise coloured
    mask = np.zeros(lightness.shape, bool)
    mask[20, 5] = True
    for size, reaches in ((6.0, True), (60.0, False)):
        wanted = np.zeros((2, 40, 60))
        wanted[:, 20, 5] = (size, -size / 2)
        far = spread_by_likeness(lightness, chroma, mask, wanted)
        assert far.shape == (2, 40, 60) and far.dtype == np.float32
        beyond = far[0, :, 35:40].mean() / size  # across the bar, alike
        assert (beyond > 0.4) if reaches else (beyond < 0.05)
        assert far[0, :, 50:].mean() < 0.05 * size  # unlike pixels keep their colour
        np.testing.assert_allclose(far[1], -0.5 * far[0], atol=1e-4)
    walled = lightness.copy()
    walled[:, 28:32] = 95.0  # a strong luminance edge walls the far stage off
    wanted[:, 20, 5] = (6.0, -3.0)
    assert spread_by_likeness(walled, chroma, mask, wanted)[0, :, 35:40].mean() < 0.05 * 6.0
    assert not spread_by_likeness(lightness, chroma, np.zeros_like(mask), wanted).any()


def test_propagation_keeps_the_prediction_without_hints_and_moves_it_to_a_hint():
    inputs = torch.from_numpy(two_regions(80, 120) / 50.0 - 1.0).float()[None, None]
    chroma = torch.full((1, 2, 80, 120), 0.05)
    zero = torch.zeros(1, 3, 80, 120)
    torch.testing.assert_close(propagate_hints(inputs, chroma, zero), chroma)
    hints = parse_hints([(10, 40, "#c0392b", 3)], 120, 80)
    guide = torch.from_numpy(render_guide(hints, 80, 120))[None]
    moved = propagate_hints(inputs, chroma, guide)
    hint_ab = guide[0, :2, 40, 10]
    assert torch.allclose(moved[0, :, 40, 10], hint_ab, atol=0.02)
    assert (moved[0, 0, :, :50] - chroma[0, 0, :, :50]).mean() > 0.3 * (hint_ab[0] - 0.05)
    torch.testing.assert_close(moved[..., 70:], chroma[..., 70:], atol=0.01, rtol=0)


def test_the_default_colorizer_takes_hints_and_a_red_hint_makes_its_object_red():
    grey = Image.fromarray(two_regions(48, 64).astype(np.uint8) * 2)  # L-like grey levels
    colorizer = pr.Colorizer(backend="torch", precision="fp32")
    plain = colorizer(grey)
    np.testing.assert_array_equal(np.asarray(colorizer(grey, hints=[])), np.asarray(plain))
    hinted = np.asarray(colorizer(grey, hints=[(8, 24, "#c0392b")]), np.float32) / 255
    lab = rgb_to_lab(hinted)
    before = rgb_to_lab(np.asarray(plain, np.float32) / 255)
    assert lab[24, 8, 1] > before[24, 8, 1] + 20  # redder where hinted
    assert lab[:, :28, 1].mean() > before[:, :28, 1].mean() + 10  # and over its region
    np.testing.assert_allclose(lab[..., 0], before[..., 0], atol=0.5)  # L untouched
    assert abs(lab[:, 40:, 1:] - before[:, 40:, 1:]).mean() < 2.0  # the other half kept


def test_an_edge_in_the_predicted_colour_holds_the_near_stage_back():
    flat = np.full((40, 60), 50.0)  # no luminance edge at all
    chroma = np.zeros((2, 40, 60))
    chroma[0, :, 30:] = 15.0  # the network coloured the right half otherwise
    mask = np.zeros(flat.shape, bool)
    mask[20, 5] = True
    wanted = np.zeros((2, *flat.shape))
    wanted[0, 20, 5] = 10.0
    free = spread(flat, mask, wanted, length=200.0, edge=3.0)
    held = spread(flat, mask, wanted, length=200.0, edge=3.0, chroma=chroma)
    assert free[0, :, 40:].mean() > 5.0  # L alone lets it through
    assert held[0, :, 40:].mean() < 0.1 and held[0, :, 20].mean() > 5.0
