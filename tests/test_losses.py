import math

import pytest
import torch

import pyramidrefine as pr


def test_registry_holds_the_losses():
    assert {"hinge", "l1", "lsgan", "pix2pix", "vanilla"} <= set(pr.list_losses())
    assert pr.create_loss("hinge").mode == "hinge"
    assert isinstance(pr.create_loss("pix2pix", l1_weight=10.0), pr.Pix2PixObjective)
    l1 = pr.create_loss("l1")
    assert l1(torch.tensor([1.0, -1.0]), torch.tensor([0.0, 0.0])).item() == 1.0


def test_hinge_on_known_numbers():
    loss = pr.GANLoss("hinge")
    real = [torch.tensor([2.0, 0.5, -1.0])]  # relu(1 - x): 0, 0.5, 2 → mean 5/6
    fake = [torch.tensor([-2.0, 0.0, 1.0])]  # relu(1 + x): 0, 1, 2 → mean 1
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(5 / 6 + 1)
    assert loss.generator_loss(fake).item() == pytest.approx(1 / 3)


def test_vanilla_and_lsgan_on_known_numbers():
    zeros = [torch.zeros(1, 1, 2, 2)]
    vanilla = pr.GANLoss("vanilla")
    assert vanilla.generator_loss(zeros).item() == pytest.approx(math.log(2))
    assert vanilla.discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    lsgan = pr.GANLoss("lsgan")
    halves = [torch.full((1, 1, 2, 2), 0.5)]
    assert lsgan.generator_loss(halves).item() == pytest.approx(0.25)
    assert lsgan.discriminator_loss([torch.ones(3)], [torch.ones(3)]).item() == pytest.approx(1)


def test_losses_average_over_scales():
    loss = pr.GANLoss("hinge")
    fakes = [torch.full((1, 1, 4, 4), 1.0), torch.full((1, 1, 2, 2), 3.0)]
    assert loss.generator_loss(fakes).item() == pytest.approx(-2.0)


@pytest.mark.parametrize("mode", ["vanilla", "lsgan", "hinge"])
def test_gradient_signs(mode):
    loss = pr.GANLoss(mode)
    fake = torch.full((1, 1, 3, 3), 0.5, requires_grad=True)
    loss.generator_loss([fake]).backward()
    assert (fake.grad < 0).all()  # the generator wants fakes judged more real
    real = torch.full((1, 1, 3, 3), 0.5, requires_grad=True)
    fake = torch.full((1, 1, 3, 3), 0.5, requires_grad=True)
    loss.discriminator_loss([real], [fake]).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()


def test_bad_modes_and_logits():
    with pytest.raises(pr.ConfigurationError, match="unknown GAN loss 'wgan'"):
        pr.GANLoss("wgan")
    with pytest.raises(pr.InvalidInputError, match="wrap a single map in a list"):
        pr.GANLoss().generator_loss(torch.zeros(1, 1, 2, 2))
    with pytest.raises(pr.InvalidInputError, match="one of each per discriminator scale"):
        pr.GANLoss().discriminator_loss([torch.zeros(1)], [])


def test_pix2pix_weights_l1_and_adds_gan():
    prediction, target = torch.zeros(1, 2, 4, 4), torch.full((1, 2, 4, 4), 0.5)
    fake = [torch.zeros(1, 1, 2, 2)]
    total, parts = pr.Pix2PixObjective(l1_weight=10.0).generator_loss(prediction, target, fake)
    assert parts["l1"] == pytest.approx(0.5)
    assert parts["gan"] == pytest.approx(math.log(2))
    assert total.item() == pytest.approx(parts["total"]) == pytest.approx(5.0 + math.log(2))
    doubled, _ = pr.Pix2PixObjective(l1_weight=20.0).generator_loss(prediction, target, fake)
    assert doubled.item() - total.item() == pytest.approx(5.0)


def test_pix2pix_skips_gan_without_logits_or_gan():
    prediction, target = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 4, 4)
    fake = [torch.zeros(1, 1, 2, 2)]
    for objective, logits in [(pr.Pix2PixObjective(), None), (pr.Pix2PixObjective(gan=None), fake)]:
        total, parts = objective.generator_loss(prediction, target, logits)
        assert total.item() == pytest.approx(100.0) and parts["gan"] == 0.0


def test_pix2pix_discriminator_loss_is_half_the_gan_loss():
    real, fake = [torch.randn(1, 1, 3, 3)], [torch.randn(1, 1, 3, 3)]
    objective = pr.Pix2PixObjective(gan="lsgan")
    expected = 0.5 * pr.GANLoss("lsgan").discriminator_loss(real, fake)
    assert objective.discriminator_loss(real, fake).item() == pytest.approx(expected.item())
    with pytest.raises(pr.ConfigurationError, match="trains no discriminator"):
        pr.Pix2PixObjective(gan=None).discriminator_loss(real, fake)
