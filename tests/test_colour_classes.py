"""Colour classes: the grid, the head that decodes them, the objective that trains them."""

import math

import pytest
import torch

import pyramidrefine as pr
from pyramidrefine.colour_bins import ColourGrid, ColourHistogram
from pyramidrefine.errors import ConfigurationError
from pyramidrefine.generators.build import HEAD_KEYS
from pyramidrefine.generators.colour_head import ColourClassHead
from pyramidrefine.losses import ColourClassObjective, Pix2PixObjective
from pyramidrefine.model_config import HEAD_RULES
from pyramidrefine.training.objective import check_objective_fits
from pyramidrefine.training.schemes import class_logits


def _classifier(**kwargs) -> pr.CoarseToFine:
    return pr.CoarseToFine(
        "unet",
        in_channels=1,
        out_channels=2,
        base_size=16,
        base_channels=4,
        depth=2,
        colour_bins=8,
        refiner={"colour_bins": None},
        refinement="detail",
        **kwargs,
    )


def test_soft_targets_sum_to_one_and_average_back_to_the_colour():
    grid = ColourGrid(bins=8)
    chroma = torch.rand(2, 2, 5, 5) * 1.6 - 0.8  # inside the outer bin centres
    index, share = grid.corners(chroma)
    assert index.shape == share.shape == (2, 4, 5, 5) and int(index.max()) < grid.count
    targets = torch.zeros(2, grid.count, 5, 5).scatter_add_(1, index, share)
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(2, 5, 5))
    decoded = torch.einsum("bkhw,kc->bchw", targets, grid.centres())
    torch.testing.assert_close(decoded, chroma, atol=1e-5, rtol=0)


def test_index_finds_the_bin_whose_centre_is_nearest():
    grid = ColourGrid(bins=8)
    centres = grid.centres()
    chroma = centres[[3, 40, 63]].T.reshape(1, 2, 1, 3) + 0.01
    assert grid.index(chroma).flatten().tolist() == [3, 40, 63]


def test_annealed_mean_moves_from_the_mean_towards_the_mode():
    grid = ColourGrid(bins=4)
    logits = torch.full((1, 16, 1, 1), -10.0)
    logits[0, 0], logits[0, 15] = 2.0, 1.0  # two colours, the first more likely
    mean = grid.annealed_mean(logits, 1.0).flatten()
    sharp = grid.annealed_mean(logits, 0.1).flatten()
    first = grid.centres()[0]
    assert torch.dist(sharp, first) < 0.05 < torch.dist(mean, first)


def test_histogram_weighs_rare_colours_up_and_averages_to_one():
    histogram = ColourHistogram(ColourGrid(bins=8), mix=0.5, smoothing=0.0)
    index = torch.tensor([0] * 90 + [5] * 10)
    histogram.add(index)
    weights = histogram.weights()
    assert weights[5] > 2 * weights[0]
    observed = histogram.counts / histogram.counts.sum()
    assert float((observed * weights.double()).sum()) == pytest.approx(1.0, rel=1e-5)


def test_the_coarse_level_classifies_and_the_refiner_regresses():
    model = _classifier()
    coarse, refiner = model.generators
    assert isinstance(coarse, ColourClassHead) and not isinstance(refiner, ColourClassHead)
    model.train()
    output = model(torch.rand(2, 1, 32, 24) * 2 - 1)
    assert output.shape == (2, 2, 32, 24)
    assert coarse.class_logits.shape[:2] == (2, 64)
    model.eval()
    model(torch.rand(1, 1, 32, 24))
    assert coarse.class_logits is None  # nothing kept outside training


def test_a_classifier_saves_and_loads_with_the_same_output(tmp_path):
    model = _classifier().eval()
    model.save_pretrained(tmp_path / "m")
    loaded = pr.load_model(tmp_path / "m").eval()
    x = torch.rand(1, 1, 40, 32) * 2 - 1
    torch.testing.assert_close(loaded(x), model(x))


def test_objective_uses_cross_entropy_where_there_are_logits_and_l1_elsewhere():
    objective = ColourClassObjective(bins=8, gan=None, l1_weight=10.0)
    target = torch.rand(2, 2, 6, 6) - 0.5
    logits = torch.zeros(2, 64, 6, 6, requires_grad=True)
    total, parts = objective.generator_loss(torch.zeros_like(target), target, class_logits=logits)
    assert set(parts) == {"ce", "l1", "total"}
    total.backward()
    assert logits.grad.abs().sum() > 0
    plain, plain_parts = objective.generator_loss(torch.zeros_like(target), target)
    assert float(plain) == pytest.approx(10.0 * plain_parts["l1"], rel=1e-5)


def test_an_objective_that_cannot_train_the_head_is_refused_before_training():
    check_objective_fits(ColourClassObjective(bins=8, gan=None), _classifier())
    plain = pr.CoarseToFine("unet", in_channels=1, out_channels=2, base_channels=4, depth=2)
    check_objective_fits(Pix2PixObjective(gan=None), plain)
    with pytest.raises(ConfigurationError, match=r"use loss\.name: colour_classes$") as error:
        check_objective_fits(Pix2PixObjective(gan=None), _classifier())
    assert "\n" not in str(error.value)


def test_cross_entropy_is_the_soft_encodings_against_uniform_logits():
    objective = ColourClassObjective(bins=8, gan=None, mix=1.0, smoothing=0)  # weights 1
    target = torch.rand(1, 2, 3, 3) * 1.6 - 0.8
    loss, _ = objective.generator_loss(target, target, class_logits=torch.zeros(1, 64, 3, 3))
    assert float(loss) == pytest.approx(math.log(64), rel=1e-5)  # -sum(t * log(1/64))


def test_cross_entropy_is_lower_for_the_true_colour():
    objective = ColourClassObjective(bins=8, gan=None, mix=1.0)
    target = torch.full((1, 2, 4, 4), 0.3)
    right = torch.zeros(1, 64, 4, 4)
    right[:, objective.grid.index(target)[0, 0, 0]] = 8.0
    wrong = torch.zeros(1, 64, 4, 4)
    wrong[:, 0] = 8.0
    loss_right, _ = objective.generator_loss(target, target, class_logits=right)
    loss_wrong, _ = objective.generator_loss(target, target, class_logits=wrong)
    assert loss_right < loss_wrong


def test_the_scheme_hands_the_coarse_logits_cut_to_the_target():
    model = _classifier().train()
    model(torch.rand(1, 1, 30, 20))  # padded to the generator's multiple inside
    level0 = model.level_sizes(30, 20)[0]
    logits = class_logits(model, 0, torch.zeros(1, 2, *level0))
    assert logits.shape[-2:] == level0
    assert class_logits(model, 1, torch.zeros(1, 2, 30, 20)) is None


def test_colour_bins_on_another_task_or_bad_temperature_are_one_line():
    with pytest.raises(ConfigurationError, match="two-channel chroma"):
        pr.CoarseToFine(
            "unet", in_channels=1, out_channels=1, levels=1, base_channels=4, depth=2, colour_bins=8
        )
    with pytest.raises(ConfigurationError, match="colour_temperature"):
        _classifier(colour_temperature=0.0)


def test_a_saved_config_may_set_the_head_within_bounds(tmp_path):
    model = _classifier()
    model.save_pretrained(tmp_path / "m")
    config = (tmp_path / "m" / "config.json").read_text()
    (tmp_path / "m" / "config.json").write_text(
        config.replace('"colour_bins": 8', '"colour_bins": 1000')
    )
    with pytest.raises(pr.errors.CheckpointError, match="colour_bins"):
        pr.load_model(tmp_path / "m")
    assert set(HEAD_RULES) == set(HEAD_KEYS)


def test_smp_head_kernel_sets_the_output_convolution(tmp_path):
    model = pr.CoarseToFine(
        "smp",
        in_channels=1,
        out_channels=2,
        base_size=32,
        arch="unet",
        encoder_name="resnet18",
        encoder_depth=3,
        decoder_channels=[16, 8, 8],
        colour_bins=4,
        head_kernel=1,
        refiner={"colour_bins": None, "head_kernel": 3},
    )
    coarse, refiner = model.generators
    assert coarse.inner.segmentation_head[0].kernel_size == (1, 1)
    assert coarse.inner.segmentation_head[0].out_channels == 16
    assert refiner.segmentation_head[0].kernel_size == (3, 3)
    model.save_pretrained(tmp_path / "m")
    loaded = pr.load_model(tmp_path / "m")
    assert loaded.generators[0].inner.segmentation_head[0].kernel_size == (1, 1)
