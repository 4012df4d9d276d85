import itertools

import pytest
import torch
from torch import nn

import pyramidrefine as pr
from pyramidrefine.tiling import (
    blend_window,
    pad_to_multiple,
    resize,
    resize_rows,
    tile_borders,
    tile_starts,
    tiled_apply,
)


@pytest.mark.parametrize(
    ("length", "tile", "overlap"),
    [(100, 32, 8), (64, 64, 16), (65, 64, 16), (1000, 96, 32), (10, 32, 4)],
)
def test_tiles_cover_the_axis_with_at_least_the_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    size = min(tile, length)
    assert starts[0] == 0 and starts[-1] + size == length
    assert all(b - a <= size - overlap for a, b in itertools.pairwise(starts))


def test_blend_window_fades_only_tapered_sides():
    window = blend_window((16, 16), 4, (True, False, False, True))[0, 0]
    assert (window > 0).all() and window.max() == 1
    assert window[0, 0] < 1 and window[-1, 0] == 1  # top fades, bottom does not
    assert window[8, 0] == 1 and window[8, -1] < 1  # left does not, right fades


def test_one_tile_covering_the_image_is_exact():
    net = nn.Conv2d(3, 2, 5, padding=2)
    x = torch.randn(2, 3, 50, 70)
    torch.testing.assert_close(tiled_apply(net, x, tile=80, overlap=16), net(x), atol=1e-4, rtol=0)


def test_pointwise_function_is_reassembled_exactly():
    net = nn.Conv2d(3, 2, 1)
    x = torch.randn(1, 3, 130, 97)
    torch.testing.assert_close(tiled_apply(net, x, tile=32, overlap=8), net(x), atol=1e-5, rtol=0)


def test_pad_to_multiple():
    assert pad_to_multiple(torch.zeros(1, 1, 30, 33), 16).shape[-2:] == (32, 48)
    assert pad_to_multiple(torch.zeros(1, 1, 1, 1), 32).shape[-2:] == (32, 32)


def test_tiled_level_matches_untiled_when_one_tile_covers_it():
    kwargs = dict(in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2)
    untiled = pr.CoarseToFine("unet", **kwargs).eval()
    tiled = pr.CoarseToFine("unet", tile=96, overlap=16, **kwargs).eval()
    tiled.load_state_dict(untiled.state_dict())
    x = torch.randn(1, 1, 96, 80)
    with torch.no_grad():
        torch.testing.assert_close(tiled(x), untiled(x), atol=1e-4, rtol=0)


def test_overlap_blending_approximates_the_untiled_level():
    """Tiles see less context than the whole image, so results agree only closely."""
    kwargs = dict(in_channels=1, out_channels=2, levels=1, base_channels=4, depth=2)
    untiled = pr.CoarseToFine("unet", **kwargs).eval()
    tiled = pr.CoarseToFine("unet", tile=64, overlap=32, **kwargs).eval()
    tiled.load_state_dict(untiled.state_dict())
    x = nn.functional.avg_pool2d(torch.randn(1, 1, 200, 260), 5, stride=1, padding=2)
    with torch.no_grad():
        reference, blended = untiled(x), tiled(x)
    relative_error = (blended - reference).abs().mean() / reference.abs().mean()
    assert relative_error < 0.02
    no_overlap = pr.CoarseToFine("unet", tile=64, overlap=0, **kwargs).eval()
    no_overlap.load_state_dict(untiled.state_dict())
    with torch.no_grad():
        seam_error = (no_overlap(x) - reference).abs().mean() / reference.abs().mean()
    assert relative_error < seam_error


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap", "rows", "cols"),
    [
        (64, 64, 32, 0, [32], [32]),  # exact grid: one border per side
        (50, 64, 64, 16, [], []),  # one tile covers the image
        (40, 100, 64, 16, [], [36, 64]),  # tile 1 starts at 36, tile 0 ends at 64
    ],
)
def test_tile_borders_are_where_tiles_start_or_end(height, width, tile, overlap, rows, cols):
    assert tile_borders(height, width, tile, overlap) == (rows, cols)


def test_seams_of_a_tiled_function_lie_on_the_tile_borders():
    """A function that depends on the tile's position (here: its mean) jumps at the borders."""
    x = torch.linspace(0, 1, 96).expand(1, 1, 96, 96).contiguous()
    output = tiled_apply(lambda t: t.mean().expand_as(t), x, tile=32, overlap=0)
    rows, cols = tile_borders(96, 96, 32, 0)
    jumps = (output[..., 1:] - output[..., :-1]).abs()[0, 0, 0]
    assert sorted(torch.nonzero(jumps > 1e-6).flatten().add(1).tolist()) == cols
    assert rows == cols == [32, 64]


@pytest.mark.parametrize("batch_size", [2, 5, 100])
def test_batched_tiles_match_tile_by_tile(batch_size):
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 3, padding=1))
    x = torch.randn(2, 3, 130, 97)
    calls = []

    def counted(crop):
        calls.append(crop.shape[0])
        return net(crop)

    with torch.inference_mode():
        one_by_one = tiled_apply(net, x, tile=32, overlap=8)
        batched = tiled_apply(counted, x, tile=32, overlap=8, batch_size=batch_size)
    torch.testing.assert_close(batched, one_by_one, atol=1e-4, rtol=0)
    assert max(calls) == 2 * min(batch_size, 6 * 4)  # 6×4 tiles, 2 images each
    assert sum(calls) == 2 * 6 * 4


def test_several_inputs_are_cropped_alike_into_rectangular_tiles():
    x, prior = torch.randn(1, 1, 90, 120), torch.randn(1, 2, 90, 120)
    shapes = []

    def add(x_crop, prior_crop):
        shapes.append(tuple(x_crop.shape[-2:]))
        return x_crop + prior_crop

    with torch.inference_mode():
        result = tiled_apply(add, (x, prior), tile=(90, 48), overlap=8, batch_size=2)
    torch.testing.assert_close(result, x + prior, atol=1e-5, rtol=0)
    assert set(shapes) == {(90, 48)} and len(shapes) == 2  # 3 tiles in batches of 2


def test_bands_of_an_upsampling_are_the_whole_upsamplings_rows():
    x = torch.rand(1, 2, 7, 9)
    size = (23, 31)
    whole = resize(x, size)
    for top, rows in ((0, 5), (5, 6), (11, 12), (20, 10)):
        torch.testing.assert_close(resize_rows(x, size, top, rows), whole[..., top : top + rows, :])
    torch.testing.assert_close(resize_rows(whole, size, 3, 4), whole[..., 3:7, :])  # same size
