import pytest
import torch

import pyramidrefine as pr


def test_patchgan_returns_one_logit_map_per_batch_item():
    model = pr.PatchGAN(1, 2, base_channels=8)
    logits = model(torch.rand(2, 1, 64, 64), torch.rand(2, 2, 64, 64))
    assert isinstance(logits, list) and len(logits) == 1
    assert logits[0].shape == (2, 1, 6, 6)


def test_patchgan_receptive_field_is_70_with_three_layers():
    model = pr.PatchGAN(1, 2, base_channels=4, n_layers=3, norm="none")
    condition = torch.rand(1, 1, 256, 256, requires_grad=True)
    logits = model(condition, torch.rand(1, 2, 256, 256))[0]
    centre = logits.shape[-1] // 2
    logits[0, 0, centre, centre].backward()
    touched = condition.grad[0, 0].abs() > 0
    rows = touched.any(dim=1).nonzero()
    cols = touched.any(dim=0).nonzero()
    assert rows.max() - rows.min() + 1 == 70
    assert cols.max() - cols.min() + 1 == 70


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_norms_and_spectral_norm_build_and_run(norm):
    for spectral in (False, True):
        model = pr.PatchGAN(3, 3, base_channels=4, n_layers=2, norm=norm, spectral_norm=spectral)
        assert model(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))[0].shape[:2] == (2, 1)
        has_norm = any(
            isinstance(m, torch.nn.BatchNorm2d | torch.nn.InstanceNorm2d) for m in model.modules()
        )
        assert has_norm == (norm != "none" and not spectral)


def test_spectral_norm_parametrizes_every_conv():
    model = pr.PatchGAN(1, 2, base_channels=4, spectral_norm=True)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5
    assert all(torch.nn.utils.parametrize.is_parametrized(conv, "weight") for conv in convs)


def test_multiscale_returns_num_scales_maps_coarser_each_time():
    model = pr.MultiScaleDiscriminator(1, 2, num_scales=3, base_channels=4, n_layers=2)
    logits = model(torch.rand(2, 1, 64, 64), torch.rand(2, 2, 64, 64))
    assert [tuple(x.shape) for x in logits] == [(2, 1, 14, 14), (2, 1, 6, 6), (2, 1, 2, 2)]


def test_registered_factories_use_task_channels():
    assert {"multiscale", "patchgan"} <= set(pr.list_discriminators())
    task = pr.create_task("colorization")
    model = pr.create_discriminator(
        "multiscale", in_channels=task.in_channels, out_channels=task.out_channels, num_scales=2
    )
    assert isinstance(model, pr.MultiScaleDiscriminator) and len(model.discriminators) == 2
    assert isinstance(
        pr.create_discriminator("patchgan", in_channels=1, out_channels=2), pr.PatchGAN
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_layers": 0}, "n_layers must be at least 1"),
        ({"norm": "group"}, "unknown norm 'group'"),
        ({"base_channels": 0}, "must be positive"),
    ],
)
def test_bad_arguments_raise_configuration_errors(kwargs, match):
    with pytest.raises(pr.ConfigurationError, match=match):
        pr.PatchGAN(1, 2, **kwargs)


def test_bad_num_scales_and_bad_inputs():
    with pytest.raises(pr.ConfigurationError, match="num_scales"):
        pr.MultiScaleDiscriminator(1, 2, num_scales=0)
    model = pr.PatchGAN(1, 2, base_channels=4)
    with pytest.raises(pr.InvalidInputError, match="condition B×1×H×W and output B×2×H×W"):
        model(torch.rand(1, 3, 32, 32), torch.rand(1, 2, 32, 32))
    with pytest.raises(pr.InvalidInputError, match="at least 24"):
        model(torch.rand(1, 1, 16, 16), torch.rand(1, 2, 16, 16))
