import pytest
import torch
from torch.nn import functional as F

from pyramidrefine.colour_drift import coarse_departure, scale_drift
from pyramidrefine.errors import InvalidInputError


def smooth_ab(height: int, width: int) -> torch.Tensor:
    rows = torch.linspace(-30, 30, height)[:, None].expand(height, width)
    cols = torch.linspace(20, -20, width)[None, :].expand(height, width)
    return torch.stack([rows, cols])[None]


def test_a_smooth_colour_at_two_sizes_does_not_drift():
    small = smooth_ab(32, 48)
    large = F.interpolate(small, size=(128, 192), mode="bilinear", align_corners=False)
    assert scale_drift(small, large) < 0.5


def test_a_colour_shift_at_the_larger_size_is_its_distance():
    small = smooth_ab(32, 48)
    large = F.interpolate(small, size=(64, 96), mode="bilinear", align_corners=False)
    shifted = large + torch.tensor([6.0, 8.0])[None, :, None, None]  # ‖(6, 8)‖ = 10
    assert scale_drift(small, shifted) == pytest.approx(10.0, abs=0.5)


def test_departure_is_the_area_a_fine_result_repaints():
    coarse = smooth_ab(16, 16)
    fine = F.interpolate(coarse, size=(64, 64), mode="bilinear", align_corners=False)
    assert coarse_departure(fine, coarse) == 0.0
    blob = fine.clone()
    blob[:, 0, :32, :32] += 40.0  # a quarter of the image turned red
    assert coarse_departure(blob, coarse) == pytest.approx(0.25, abs=0.05)


def test_small_changes_are_below_the_threshold():
    coarse = smooth_ab(16, 16)
    fine = F.interpolate(coarse, size=(64, 64), mode="bilinear", align_corners=False) + 3.0
    assert coarse_departure(fine, coarse, threshold=10.0) == 0.0
    assert coarse_departure(fine, coarse, threshold=1.0) == 1.0


@pytest.mark.parametrize("bad", [torch.zeros(1, 3, 8, 8), torch.zeros(2, 8, 8), "ab"])
def test_bad_inputs_are_one_clear_error(bad):
    with pytest.raises(InvalidInputError, match="B×2×H×W"):
        scale_drift(smooth_ab(8, 8), bad)
    with pytest.raises(InvalidInputError, match="B×2×H×W"):
        coarse_departure(bad, smooth_ab(8, 8))
