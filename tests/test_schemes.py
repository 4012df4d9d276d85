import itertools

import pytest
import torch

import pyramidrefine as pr
from pyramidrefine.training.config import SchemeConfig
from pyramidrefine.training.schemes import _crop_windows, pyramid_step, teacher_probability


@pytest.fixture
def model():
    return pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=3, base_channels=4, depth=1
    )


def run(model, scheme, seed=0, size=32):
    inputs, targets = torch.randn(2, 1, size, size), torch.randn(2, 2, size, size)
    return pyramid_step(
        model,
        inputs,
        targets,
        scheme,
        step=0,
        max_steps=10,
        generator=torch.Generator().manual_seed(seed),
    )


def test_unrolled_supervises_the_final_level_with_gradients_through_all(model):
    results = run(model, SchemeConfig(name="unrolled"))
    assert [r.level for r in results] == [2]
    assert results[0].prediction.shape == (2, 2, 32, 32)
    results[0].prediction.mean().backward()
    assert model.generators[0].stem[0].weight.grad is not None


def test_deep_supervision_returns_every_weighted_level(model):
    results = run(model, SchemeConfig(name="unrolled", level_weights=[0.2, 0.0, 1.0]))
    assert [(r.level, r.weight) for r in results] == [(0, 0.2), (2, 1.0)]
    assert results[0].target.shape[-2:] == (8, 8)


def test_per_level_self_feedback_detaches_coarser_levels():
    model = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=3, shared=False, base_channels=4, depth=1
    )
    scheme = SchemeConfig(name="per_level", feedback="self")
    for seed in range(20):
        (result,) = run(model, scheme, seed)
        model.zero_grad()
        result.prediction.mean().backward()
        grads = [g.stem[0].weight.grad is not None for g in model.generators]
        assert grads == [k == result.level for k in range(3)]


def test_teacher_prior_is_the_downscaled_truth(model):
    captured = {}
    original = model.run_level

    def spy(level, x, prior=None):
        captured[level] = prior
        return original(level, x, prior)

    model.run_level = spy
    scheme = SchemeConfig(name="per_level", feedback="teacher")
    for seed in range(10):
        captured.clear()
        (result,) = run(model, scheme, seed)
        assert list(captured) == [result.level]  # coarser levels are not run at all
        if result.level > 0:
            assert captured[result.level].shape == (2, 2, *result.prediction.shape[-2:])


def test_crop_levels_run_every_level_at_the_base_size(model):
    results = run(
        model, SchemeConfig(name="unrolled", crop_levels=True, level_weights=[1.0, 1.0, 1.0])
    )
    assert [tuple(r.prediction.shape[-2:]) for r in results] == [(8, 8)] * 3


def test_crop_windows_are_nested():
    sizes = [(16, 16), (32, 32), (64, 64), (128, 128)]
    for seed in range(20):
        windows = _crop_windows(sizes, torch.Generator().manual_seed(seed))
        for parent, child in itertools.pairwise(windows):
            assert 2 * parent.top <= child.top <= 2 * parent.top + 16
            assert 2 * parent.left <= child.left <= 2 * parent.left + 16
            assert child.top + 16 <= sizes[windows.index(child)][0]


def test_crop_levels_need_doubling_sizes(model):
    with pytest.raises(pr.ConfigurationError, match="power of two"):
        run(model, SchemeConfig(crop_levels=True), size=30)


def test_scheduled_teacher_probability_moves_linearly():
    scheme = SchemeConfig(feedback="scheduled", teacher_start=1.0, teacher_end=0.2)
    assert teacher_probability(scheme, 0, 100) == 1.0
    assert teacher_probability(scheme, 50, 100) == pytest.approx(0.6)
    assert teacher_probability(scheme, 200, 100) == pytest.approx(0.2)
    assert teacher_probability(SchemeConfig(feedback="teacher"), 50, 100) == 1.0
