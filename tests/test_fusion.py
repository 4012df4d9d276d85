"""BatchNorm folding: found by watching tensors, folded only where nothing else sees the
convolution's output, checked on the example and undone when the outputs differ."""

from __future__ import annotations

import copy

import pytest
import torch
from timm.layers import BatchNormAct2d
from torch import nn

from pyramidrefine import CoarseToFine
from pyramidrefine.fusion import fold_batchnorm, fold_pyramid


def trained_norm(norm: nn.Module, seed: int) -> nn.Module:
    """``norm`` with running statistics and affine parameters far from the defaults."""
    generator = torch.Generator().manual_seed(seed)
    channels = norm.num_features
    with torch.no_grad():
        norm.running_mean.copy_(torch.randn(channels, generator=generator))
        norm.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
        norm.weight.copy_(torch.randn(channels, generator=generator))
        norm.bias.copy_(torch.randn(channels, generator=generator))
    return norm


class Residual(nn.Module):
    """conv → BN, plus the convolution's output (before BN) added back: not foldable."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        self.norm = trained_norm(nn.BatchNorm2d(3), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.norm(y) + y


class TimmStyle(nn.Module):
    """A stem held as attributes (conv_stem, bn1) and called by hand, as timm's models do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = trained_norm(BatchNormAct2d(8, act_layer=nn.ReLU6), 2)
        self.head = nn.Sequential(nn.Conv2d(8, 4, 1), trained_norm(nn.BatchNorm2d(4), 3), nn.SiLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.bn1(self.conv_stem(x)))


class InPlaceBetween(nn.Module):
    """The convolution's output changed in place before BN sees it: not foldable."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.norm = trained_norm(nn.BatchNorm2d(3), 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y.add_(1.0)
        return self.norm(y)


@pytest.fixture
def example() -> torch.Tensor:
    return torch.rand(2, 3, 12, 10, generator=torch.Generator().manual_seed(0))


def outputs(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return module(x)


def test_timm_layout_folds_and_keeps_activation(example: torch.Tensor) -> None:
    model = TimmStyle().eval()
    folded = copy.deepcopy(model)
    report = fold_batchnorm(folded, example)
    assert (report.folded, report.reverted) == (2, False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.ReLU6) for m in folded.modules())
    other = torch.rand(1, 3, 7, 9)  # not the example: the fold holds for any input
    torch.testing.assert_close(outputs(folded, other), outputs(model, other))


def test_output_used_elsewhere_is_left_alone(example: torch.Tensor) -> None:
    model = Residual().eval()
    before = outputs(model, example)
    report = fold_batchnorm(model, example)
    assert report.folded == 0
    assert isinstance(model.norm, nn.BatchNorm2d)
    torch.testing.assert_close(outputs(model, example), before)


def test_output_changed_in_place_is_left_alone(example: torch.Tensor) -> None:
    model = InPlaceBetween().eval()
    before = outputs(model, example)
    assert fold_batchnorm(model, example).folded == 0
    torch.testing.assert_close(outputs(model, example), before)


def test_convolution_shared_by_two_norms_is_left_alone(example: torch.Tensor) -> None:
    class TwoNorms(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            self.a = trained_norm(nn.BatchNorm2d(3), 5)
            self.b = trained_norm(nn.BatchNorm2d(3), 6)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.a(self.conv(x)) - self.b(self.conv(x))

    model = TwoNorms().eval()
    before = outputs(model, example)
    assert fold_batchnorm(model, example).folded == 0
    torch.testing.assert_close(outputs(model, example), before)


def test_a_fold_that_changes_the_output_is_undone(example: torch.Tensor) -> None:
    model = TimmStyle().eval()
    before = outputs(model, example)
    report = fold_batchnorm(model, example, tolerance=-1.0)  # any difference is too much
    assert report.reverted and report.found == 2 and report.folded == 0
    assert isinstance(model.bn1, BatchNormAct2d) and isinstance(model.head[1], nn.BatchNorm2d)
    torch.testing.assert_close(outputs(model, example), before, rtol=0, atol=0)


def test_fold_pyramid_leaves_the_model_trainable() -> None:
    model = CoarseToFine("unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            trained_norm(module, 7)
    model.eval()
    folded = fold_pyramid(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.train().modules())
    x = torch.rand(1, 1, 40, 56) * 2 - 1
    torch.testing.assert_close(outputs(folded, x), outputs(model.eval(), x), atol=1e-5, rtol=1e-4)


def test_parametrized_convolution_is_left_alone(example: torch.Tensor) -> None:
    from torch.nn.utils.parametrizations import weight_norm

    model = nn.Sequential(
        weight_norm(nn.Conv2d(3, 4, 3)),
        trained_norm(nn.BatchNorm2d(4), 8),
        nn.Conv2d(4, 4, 1),
        trained_norm(nn.BatchNorm2d(4), 9),
    ).eval()
    before = outputs(model, example)
    report = fold_batchnorm(model, example)
    assert (report.found, report.folded) == (2, 1)
    assert isinstance(model[1], nn.BatchNorm2d) and isinstance(model[3], nn.Identity)
    torch.testing.assert_close(outputs(model, example), before, atol=1e-5, rtol=1e-4)
