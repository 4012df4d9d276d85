"""Property tests: valid sizes, levels, tiles and batches work; invalid ones fail clearly."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pyramidrefine as pr

GENERATOR = dict(generator="unet", base_channels=2, depth=2)


@settings(max_examples=30, deadline=None)
@given(
    height=st.integers(1, 90),
    width=st.integers(1, 90),
    batch=st.integers(1, 3),
    pyramid=st.one_of(
        st.builds(lambda n: {"levels": n}, st.integers(1, 5)),
        st.builds(lambda b: {"base_size": b}, st.integers(1, 64)),
    ),
    tiling=st.one_of(
        st.just({}),
        st.integers(2, 48).flatmap(
            lambda t: st.builds(lambda o: {"tile": t, "overlap": o}, st.integers(0, t - 1))
        ),
    ),
)
def test_any_valid_configuration_returns_the_input_size(height, width, batch, pyramid, tiling):
    model = pr.CoarseToFine(**GENERATOR, in_channels=1, out_channels=2, **pyramid, **tiling)
    with torch.no_grad():
        out = model.eval()(torch.rand(batch, 1, height, width))
    assert out.shape == (batch, 2, height, width)
    assert torch.isfinite(out).all()


@settings(max_examples=30, deadline=None)
@given(
    levels=st.integers(-3, 0) | st.none(),
    base_size=st.integers(-5, 0) | st.none(),
    tile=st.integers(1, 32) | st.none(),
    overlap=st.integers(-4, 40),
)
def test_invalid_configurations_are_rejected_clearly(levels, base_size, tile, overlap):
    arguments = {"levels": levels, "base_size": base_size, "tile": tile, "overlap": overlap}
    valid = levels is None and base_size is None and (tile is None or 0 <= overlap < tile)
    if valid:
        return
    with pytest.raises(pr.ConfigurationError):
        pr.CoarseToFine(**GENERATOR, in_channels=1, out_channels=2, **arguments)
