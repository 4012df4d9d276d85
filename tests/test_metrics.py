import math

import kornia
import pytest
import torch

from pyramidrefine import InvalidInputError, metrics


def test_identical_images_score_perfectly():
    image = torch.rand(2, 3, 32, 32)
    assert metrics.ssim(image, image) == pytest.approx(1.0)
    assert math.isinf(metrics.psnr(image, image))
    assert metrics.l1(image, image) == 0.0


def test_psnr_and_l1_on_a_known_offset():
    image = torch.full((1, 3, 16, 16), 0.5)
    assert metrics.psnr(image, image + 0.1) == pytest.approx(20.0, abs=1e-3)
    assert metrics.l1(image, image + 0.1) == pytest.approx(0.1)
    assert metrics.ssim(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)) < 0.2


def test_colourfulness_is_zero_for_grey_and_known_for_a_flat_colour():
    grey = torch.rand(2, 1, 16, 16).expand(-1, 3, -1, -1)
    assert metrics.colourfulness(grey) == pytest.approx(0.0, abs=1e-4)
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = 1.0  # rg = 255, yb = 127.5, no spread
    assert metrics.colourfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5), rel=1e-5)
    assert metrics.colourfulness(torch.rand(1, 3, 16, 16)) > 50


def test_seam_index_finds_a_step_on_a_border():
    image = kornia.filters.gaussian_blur2d(torch.rand(1, 3, 96, 96), (15, 15), (3.0, 3.0))
    assert metrics.seam_index(image, [32, 64], [48]) == pytest.approx(1.0, abs=0.15)
    stepped = image.clone()
    stepped[..., 48:] += 0.2
    assert metrics.seam_index(stepped[0], [], [48]) > 10
    assert metrics.seam_index(stepped, [48], []) < 1  # a step elsewhere is no seam here


def test_bad_inputs_are_rejected():
    with pytest.raises(InvalidInputError, match=r"use values in 1\.\.15"):
        metrics.seam_index(torch.rand(3, 16, 16), [16], [])
    with pytest.raises(InvalidInputError, match="at least one border"):
        metrics.seam_index(torch.rand(3, 16, 16), [], [])
    with pytest.raises(InvalidInputError, match="B×3×H×W"):
        metrics.ssim(torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16))
    with pytest.raises(InvalidInputError, match="differ in shape"):
        metrics.psnr(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 8, 8))
