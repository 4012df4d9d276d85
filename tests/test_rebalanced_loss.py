"""Class-rebalanced L1: rare colours weigh more, the scale stays that of L1."""

import pytest
import torch

from pyramidrefine import create_loss
from pyramidrefine.errors import ConfigurationError
from pyramidrefine.losses import Pix2PixObjective, RebalancedL1


def _mostly_grey(batch: int = 4, size: int = 16) -> torch.Tensor:
    target = torch.zeros(batch, 2, size, size)
    target[:, 0, :2, :2] = 0.6  # a small saturated patch
    return target


def test_a_rare_colour_weighs_more_than_the_common_one():
    loss = RebalancedL1()
    target = _mostly_grey()
    loss(torch.zeros_like(target), target)  # counts the colours
    weights = loss.histogram.weights()
    grey, rare = loss.grid.index(target)[0, 8, 8], loss.grid.index(target)[0, 0, 0]
    assert weights[rare] > 2 * weights[grey]


def test_weights_average_to_one_under_the_observed_colours():
    loss = RebalancedL1(smoothing=0.0)
    target = torch.rand(2, 2, 8, 8) * 2 - 1
    loss(target, target)
    observed = loss.histogram.counts / loss.histogram.counts.sum()
    assert float((observed * loss.histogram.weights().double()).sum()) == pytest.approx(
        1.0, rel=1e-5
    )


def test_mix_one_is_plain_l1():
    loss = RebalancedL1(mix=1.0)
    target, prediction = torch.rand(2, 2, 8, 8) - 0.5, torch.rand(2, 2, 8, 8) - 0.5
    loss(prediction, target)
    expected = torch.nn.functional.l1_loss(prediction, target)
    torch.testing.assert_close(loss(prediction, target), expected)


def test_the_same_error_costs_more_on_a_rare_colour():
    loss = RebalancedL1()
    target = _mostly_grey()
    loss(target, target)
    on_grey, on_rare = target.clone(), target.clone()
    on_grey[:, :, 8, 8] += 0.1
    on_rare[:, :, 0, 0] += 0.1
    assert loss(on_rare, target) > 2 * loss(on_grey, target)


def test_counts_only_while_training():
    loss = RebalancedL1().eval()
    target = _mostly_grey()
    loss(target, target)
    assert loss.histogram.counts.sum() == 0


def test_registered_and_used_by_pix2pix():
    assert isinstance(create_loss("rebalanced_l1", mix=0.3), RebalancedL1)
    objective = Pix2PixObjective(l1_weight=10.0, gan=None, pixel="rebalanced_l1")
    target = _mostly_grey()
    total, parts = objective.generator_loss(torch.zeros_like(target), target)
    assert set(parts) == {"l1", "rebalanced_l1", "gan", "total"}
    assert float(total) == pytest.approx(10.0 * parts["rebalanced_l1"], rel=1e-5)
    assert parts["rebalanced_l1"] > parts["l1"]  # the saturated patch is rare


@pytest.mark.parametrize(
    "kwargs, message",
    [({"bins": 1}, "bins"), ({"mix": 0.0}, "mix"), ({"extent": 0.0}, "extent")],
)
def test_bad_settings_are_one_line(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        RebalancedL1(**kwargs)


def test_refuses_targets_that_are_not_two_channel_chroma():
    with pytest.raises(ConfigurationError, match="two-channel"):
        RebalancedL1()(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))


def test_a_pixel_loss_given_arguments_it_does_not_take_is_one_line():
    with pytest.raises(ConfigurationError, match=r"loss 'l1' takes no argument 'mix'"):
        Pix2PixObjective(gan=None, pixel="l1", pixel_kwargs={"mix": 0.5})


def test_texture_fades_the_rebalancing_out_where_the_luminance_is_flat():
    target = _mostly_grey(size=32)
    target[:, :, 18:23, 18:23] = 0.6  # the rare colour again
    flat = torch.zeros(4, 1, 32, 32)
    textured = torch.rand(4, 1, 32, 32) * 2 - 1
    prediction = target.clone()
    prediction[:, :, 20, 20] += 0.2  # one error, on the rare colour
    everywhere, faded = RebalancedL1(), RebalancedL1(texture=5.0)
    everywhere(target, target)
    faded(target, target, condition=flat)  # the same counts
    plain = torch.nn.functional.l1_loss(prediction, target)
    torch.testing.assert_close(faded(prediction, target, condition=flat), plain)
    assert everywhere(prediction, target) > 1.2 * plain
    assert faded(prediction, target, condition=textured) > 0.8 * everywhere(prediction, target)


def test_texture_needs_the_condition_and_pix2pix_passes_it():
    target = _mostly_grey()
    with pytest.raises(ConfigurationError, match="needs the level's input"):
        RebalancedL1(texture=5.0)(target, target)
    with pytest.raises(ConfigurationError, match="texture must be positive"):
        RebalancedL1(texture=0.0)
    objective = Pix2PixObjective(gan=None, pixel="rebalanced_l1", pixel_kwargs={"texture": 5.0})
    _, parts = objective.generator_loss(
        torch.zeros_like(target), target, condition=torch.zeros(4, 1, 16, 16)
    )
    assert parts["rebalanced_l1"] == pytest.approx(parts["l1"], rel=1e-5)  # all flat: plain L1
