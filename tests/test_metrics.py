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


def test_hue_hits_count_saturated_pixels_coloured_with_the_right_hue():
    from pyramidrefine.metrics import hue_hits

    truth = torch.zeros(1, 2, 2, 2)
    truth[0, 0] = torch.tensor([[40.0, 40.0], [5.0, -30.0]])  # a; pixel (1,0) is unsaturated
    assert hue_hits(truth, truth) == (3, 3)
    assert hue_hits(torch.zeros_like(truth), truth) == (0, 3)  # grey hits nothing
    assert hue_hits(truth * 0.2, truth) == (0, 3)  # right hue, chroma 8 < 10: not coloured
    assert hue_hits(truth.flip(1), truth) == (0, 3)  # a → b: hue off by 90°
    rotated = torch.stack([truth[:, 0] * 0.9, truth[:, 0] * 0.4], dim=1)  # ~24° off
    assert hue_hits(rotated, truth) == (3, 3)


def test_colourfulness_ratio_and_hue_hit_rate_are_summarized():
    from pyramidrefine.tasks import ColorizationTask

    means = {
        "colourfulness": 10.0,
        "colourfulness_truth": 40.0,
        "hue_hits": 3.0,
        "hue_saturated": 12.0,
        "l1_ab": 0.1,
    }
    summary = ColorizationTask().summarize(means)
    assert summary == {
        "colourfulness": 10.0,
        "colourfulness_truth": 40.0,
        "l1_ab": 0.1,
        "colourfulness_ratio": 0.25,
        "hue_hit_rate": 0.25,
    }


def test_feature_distance_is_zero_for_the_truth_and_positive_for_grey():
    from pyramidrefine.feature_distance import FeatureFrechetDistance

    generator = torch.Generator().manual_seed(0)
    photos = torch.rand(4, 3, 1, 1, generator=generator).expand(-1, -1, 48, 48).contiguous()
    photos = photos + 0.1 * torch.rand(4, 3, 48, 48, generator=generator)
    same, grey = FeatureFrechetDistance(), FeatureFrechetDistance()
    same.update(photos, photos)
    grey.update(photos.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1), photos)
    assert abs(same.compute()) < 1e-2
    assert grey.compute() > 1.0


def test_cli_evaluate_reports_colour_metrics_as_json(tmp_path, tiny_colorizer, photo_folder):
    import json

    from pyramidrefine.cli import main

    tiny_colorizer.save_pretrained(tmp_path / "model")
    out = tmp_path / "metrics.json"
    args = ["evaluate", "--model", str(tmp_path / "model"), "--data", str(photo_folder)]
    assert main([*args, "--max-images", "3", "--feature-distance", "--json", str(out)]) == 0
    metrics = json.loads(out.read_text())
    for name in ("colourfulness_ratio", "hue_hit_rate", "fd_effnet_lite0", "l1_ab_grey"):
        assert math.isfinite(metrics[name])
    assert metrics["colourfulness_ratio_grey"] < 0.01


def _two_objects(size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """L and ab of two textured halves with different luminance and colour."""
    L = torch.zeros(1, 1, size, size)
    L[..., size // 2 :] = 50.0
    L += torch.rand(L.shape, generator=torch.Generator().manual_seed(0))
    ab = torch.zeros(1, 2, size, size)
    ab[:, 0, :, size // 2 :], ab[:, 0, :, : size // 2] = 40.0, -20.0
    return L, ab


def test_colour_bleeding_is_low_for_colour_that_follows_edges_and_high_when_blurred():
    L, ab = _two_objects()
    blurred = torch.nn.functional.avg_pool2d(ab, 15, 1, 7, count_include_pad=False)
    assert metrics.colour_bleeding(ab, L) < 0.01
    assert metrics.colour_bleeding(blurred, L) > 0.3
    assert math.isnan(metrics.colour_bleeding(torch.zeros_like(ab), L))


@pytest.mark.parametrize("size", [256, 1024])
def test_small_region_colour_scores_only_the_small_saturated_objects(size):
    truth = torch.zeros(1, 2, size, size)
    k = size // 256
    truth[:, 0, 100 * k : 102 * k, 50 * k : 60 * k] = 50.0  # a small red object
    truth[:, 1, :, 150 * k :] = 60.0  # a large yellow region: not small
    assert metrics.small_region_colour(truth, truth) == (0.0, 1.0)
    error, chroma = metrics.small_region_colour(torch.zeros_like(truth), truth)
    assert (error, chroma) == (25.0, 0.0)  # mean |Δa|, |Δb| over the small object only
    halved = metrics.small_region_colour(truth / 2, truth)
    assert halved == pytest.approx((12.5, 0.5))
    no_small = truth.clone()
    no_small[:, 0] = 0.0
    assert all(math.isnan(v) for v in metrics.small_region_colour(no_small, no_small))
