import pytest
import torch
from torch import nn

import pyramidrefine as pr
from pyramidrefine.errors import ConfigurationError, InvalidInputError


def small_unet(**kwargs):
    return dict(generator="unet", base_channels=4, depth=2, **kwargs)


@pytest.mark.parametrize("levels", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape", [(1, 1, 37, 53), (2, 1, 40, 96), (1, 1, 7, 3), (2, 1, 1, 1)])
def test_output_has_input_size(levels, shape):
    model = pr.CoarseToFine(**small_unet(), in_channels=1, out_channels=2, levels=levels)
    out = model(torch.randn(shape))
    assert out.shape == (shape[0], 2, *shape[2:])
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("shared", [True, False])
def test_every_level_is_returned_coarse_to_fine(shared):
    model = pr.CoarseToFine(**small_unet(), in_channels=3, out_channels=3, levels=3, shared=shared)
    predictions = model.forward_levels(torch.randn(2, 3, 64, 80))
    assert [p.shape[-2:] for p in predictions] == [(16, 20), (32, 40), (64, 80)]
    assert len(model.generators) == (1 if shared else 3)


def test_gradients_reach_every_level_generator():
    model = pr.CoarseToFine(**small_unet(), in_channels=1, out_channels=2, levels=3, shared=False)
    model(torch.randn(2, 1, 32, 48)).abs().mean().backward()
    for level, generator in enumerate(model.generators):
        grads = [p.grad for p in generator.parameters()]
        assert all(g is not None for g in grads), f"level {level} got no gradient"
        assert sum(g.abs().sum() for g in grads) > 0, f"level {level} got zero gradient"


def test_prior_of_coarser_level_changes_the_finer_output():
    model = pr.CoarseToFine(**small_unet(), in_channels=1, out_channels=2, levels=2).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        neutral = model.run_level(1, x)
        informed = model.run_level(1, x, torch.ones(1, 2, 32, 32))
    assert not torch.allclose(neutral, informed)


@pytest.mark.parametrize(
    ("size", "levels"),
    [
        ((2048, 2048), 4),
        ((300, 700), 3),
        ((200, 100), 1),
        ((256, 256), 1),
        ((257, 100), 2),
        ((1536, 1024), 4),
    ],
)
def test_base_size_sets_the_number_of_levels(size, levels):
    model = pr.CoarseToFine(**small_unet(), in_channels=1, out_channels=2, base_size=256)
    sizes = model.level_sizes(*size)
    assert len(sizes) == levels
    assert sizes[-1] == size
    assert max(sizes[0]) <= 256


def test_default_is_base_size_256():
    model = pr.CoarseToFine(**small_unet(), in_channels=1, out_channels=2)
    assert model.base_size == 256 and model.levels is None
    assert [max(s) for s in model.level_sizes(2048, 1024)] == [256, 512, 1024, 2048]


def test_smp_generator_on_odd_non_square_input():
    model = pr.CoarseToFine(
        generator="smp",
        arch="unet",
        encoder_name="resnet18",
        encoder_weights=None,
        in_channels=1,
        out_channels=2,
        base_size=64,
    )
    assert model.pad_multiple == 32
    assert model(torch.randn(2, 1, 75, 131)).shape == (2, 2, 75, 131)


def test_ready_module_and_factory_generators():
    module = pr.UNet(in_channels=4, out_channels=2, base_channels=4, depth=1)
    model = pr.CoarseToFine(module, in_channels=1, out_channels=2, levels=2)
    assert model.generators[0] is module and model.pad_multiple == 2
    assert model(torch.randn(1, 1, 9, 11)).shape == (1, 2, 9, 11)

    def factory(in_channels, out_channels, width):
        return nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, out_channels, 1),
        )

    model = pr.CoarseToFine(factory, in_channels=3, out_channels=3, levels=3, width=5)
    assert model(torch.randn(1, 3, 17, 10)).shape == (1, 3, 17, 10)


def test_per_level_modules():
    modules = [pr.UNet(4, 2, base_channels=4, depth=1) for _ in range(3)]
    model = pr.CoarseToFine(modules, in_channels=1, out_channels=2, levels=3)
    assert [model.generator_for(k) for k in range(3)] == modules


def test_generator_with_wrong_input_channels_is_refused():
    with pytest.raises(ConfigurationError, match="build it with in_channels=4"):
        pr.CoarseToFine(nn.Conv2d(1, 2, 3), in_channels=1, out_channels=2, levels=2)


def test_generator_with_wrong_output_channels_is_reported():
    model = pr.CoarseToFine(nn.Conv2d(4, 5, 1), in_channels=1, out_channels=2, levels=1)
    with pytest.raises(ConfigurationError, match="out_channels=2"):
        model(torch.randn(1, 1, 8, 8))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(levels=2, base_size=128), "either levels or base_size"),
        (dict(levels=0), "at least 1"),
        (dict(shared=False), "fixed levels"),
        (dict(levels=2, tile=32, overlap=32), "overlap < tile"),
        (dict(generator="unett"), "Did you mean 'unet'"),
    ],
)
def test_invalid_configurations_are_refused(kwargs, message):
    arguments = {**small_unet(), "in_channels": 1, "out_channels": 2, **kwargs}
    with pytest.raises(pr.PyramidRefineError, match=message):
        pr.CoarseToFine(**arguments)


@pytest.mark.parametrize(
    "x", [torch.randn(1, 3, 8, 8), torch.randn(8, 8), torch.zeros(1, 1, 8, 8, dtype=torch.long)]
)
def test_bad_input_tensor_is_refused(x):
    model = pr.CoarseToFine(**small_unet(), in_channels=1, out_channels=2, levels=2)
    with pytest.raises(InvalidInputError, match="expected"):
        model(x)


def test_save_and_load_pretrained_round_trip(tmp_path):
    model = pr.CoarseToFine(
        **small_unet(), in_channels=1, out_channels=2, levels=3, tile=32, overlap=8
    ).eval()
    model.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors"} <= {p.name for p in tmp_path.iterdir()}
    loaded = pr.CoarseToFine.from_pretrained(tmp_path).eval()
    assert (loaded.levels, loaded.tile, loaded.overlap) == (3, 32, 8)
    x = torch.randn(1, 1, 48, 40)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_save_pretrained_needs_a_registered_generator(tmp_path):
    model = pr.CoarseToFine(
        pr.UNet(4, 2, base_channels=4, depth=1), in_channels=1, out_channels=2, levels=2
    )
    with pytest.raises(ConfigurationError, match="register_generator"):
        model.save_pretrained(tmp_path)
    assert not any(tmp_path.iterdir())


def test_with_settings_shares_weights_and_changes_the_method():
    model = pr.CoarseToFine(**small_unet(), in_channels=1, out_channels=2, base_size=16).eval()
    baseline = model.with_settings(levels=1)
    patchwise = model.with_settings(levels=1, tile=24, overlap=8)
    assert baseline.generators[0] is model.generators[0]
    assert len(baseline.level_sizes(64, 64)) == 1 and len(model.level_sizes(64, 64)) == 3
    assert model.levels is None and model.tile is None  # the original is unchanged
    x = torch.randn(1, 1, 40, 40)
    with torch.no_grad():
        assert not torch.allclose(baseline(x), model(x))
        assert patchwise(x).shape == (1, 2, 40, 40)
        torch.testing.assert_close(baseline(x), model.run_level(0, x))
    with pytest.raises(ConfigurationError, match="overlap < tile"):
        model.with_settings(tile=8, overlap=8)
    with pytest.raises(ConfigurationError, match="with_settings takes"):
        model.with_settings(shared=False)


def test_refiner_runs_every_level_but_the_coarsest_and_survives_save_and_load(tmp_path):
    model = pr.CoarseToFine(
        **small_unet(), in_channels=1, out_channels=2, base_size=16, refiner={"base_channels": 2}
    ).eval()
    coarse, refiner = model.generators
    assert sum(p.numel() for p in refiner.parameters()) < sum(
        p.numel() for p in coarse.parameters()
    )
    assert [model.generator_for(level) for level in range(4)] == [coarse, *[refiner] * 3]
    x = torch.randn(1, 1, 64, 48)
    model.save_pretrained(tmp_path)
    loaded = pr.CoarseToFine.from_pretrained(tmp_path).eval()
    assert loaded.refiner == {"base_channels": 2}
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
        with_coarse_only = model.with_settings(levels=1)(x)
        torch.testing.assert_close(
            with_coarse_only, coarse(torch.cat([x, x.new_zeros(1, 3, 64, 48)], 1))
        )


def test_refiner_needs_a_named_shared_generator():
    with pytest.raises(ConfigurationError, match="refiner"):
        pr.CoarseToFine(
            pr.UNet(4, 2, base_channels=4, depth=1), in_channels=1, out_channels=2, refiner={}
        )


def test_max_levels_caps_the_pyramid_with_a_larger_coarsest_level(tmp_path):
    model = pr.CoarseToFine(
        **small_unet(), in_channels=1, out_channels=2, base_size=16, max_levels=3
    ).eval()
    assert model.level_sizes(64, 48) == [(16, 12), (32, 24), (64, 48)]  # 3 levels anyway
    assert model.level_sizes(256, 192) == [(64, 48), (128, 96), (256, 192)]  # not 5
    assert len(model.forward_levels(torch.randn(1, 1, 256, 192))) == 3
    model.save_pretrained(tmp_path)
    assert pr.CoarseToFine.from_pretrained(tmp_path).max_levels == 3
    explicit = model.with_settings(base_size=16)  # an explicit coarsest size is exactly that
    assert len(explicit.level_sizes(256, 192)) == 5
    assert len(model.with_settings(base_size=16, max_levels=4).level_sizes(256, 192)) == 4
    with pytest.raises(ConfigurationError, match="max_levels"):
        pr.CoarseToFine(**small_unet(), in_channels=1, out_channels=2, max_levels=0)
