import json

import numpy as np
import pytest
import torch
from accelerate.state import AcceleratorState

import pyramidrefine as pr
from pyramidrefine.cli import main as cli_main
from pyramidrefine.errors import ConfigurationError
from pyramidrefine.training import Trainer, TrainingError, load_config

pytestmark = pytest.mark.usefixtures("fresh_accelerator")


def tiny_config(tmp_path, photo_folder, *overrides):
    base = [
        f"output_dir={tmp_path / 'run'}",
        f"data.train={photo_folder}",
        "max_steps=3",
        "checkpoint_every=3",
        "validate_every=3",
        "log_every=1",
        "data.image_size=32",
        "data.batch_size=2",
        "data.val_fraction=0.25",
        "data.val_max_images=2",
        "model.base_channels=4",
        "model.depth=2",
        "model.base_size=16",
        "loss.discriminator_kwargs={base_channels: 8, n_layers: 2}",
    ]
    return load_config(None, [*base, *overrides])


def generator_weights(trainer):
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.parametrize(
    "overrides",
    [
        ["scheme.name=unrolled", "scheme.level_weights=[0.5, 1.0]", "loss.gan=vanilla"],
        ["scheme.name=per_level", "scheme.feedback=teacher"],
        ["scheme.name=per_level", "scheme.feedback=self"],
        [
            "scheme.name=per_level",
            "scheme.feedback=scheduled",
            "model.levels=2",
            "model.base_size=null",
            "model.shared=false",
        ],
        ["scheme.crop_levels=true"],
        ["scheme.crop_levels=true", "scheme.name=per_level", "scheme.feedback=self"],
        [
            "loss.discriminator=multiscale",
            "loss.gan=hinge",
            "loss.discriminator_kwargs={base_channels: 8, n_layers: 1, num_scales: 2}",
        ],
        ["mixed_precision=bf16"],
        ["ema_decay=0.9", "gradient_accumulation_steps=2", "optim.scheduler=cosine"],
        ["data.cache_size=40", "scheme.crop_levels=true", "channels_last=true"],
        ["model.refiner={base_channels: 2}", "scheme.crop_levels=true"],
        [
            "model.colour_bins=8",
            "model.refiner={colour_bins: null}",
            "model.refinement=detail",
            "loss.name=colour_classes",
            "loss.kwargs={bins: 8}",
        ],
        ["loss.kwargs={pixel: rebalanced_l1, pixel_kwargs: {mix: 0.5, texture: 5.0}}"],
    ],
    ids=[
        "unrolled-gan",
        "teacher",
        "self",
        "scheduled-per-level-generators",
        "crops",
        "crops-self",
        "multiscale-hinge",
        "bf16",
        "ema-accumulation",
        "cached-crops",
        "coarse-and-refiner",
        "colour-classes",
        "rebalanced-l1",
    ],
)
def test_three_steps_train(tmp_path, photo_folder, overrides):
    trainer = Trainer(tiny_config(tmp_path, photo_folder, *overrides))
    before = generator_weights(trainer)
    metrics = trainer.fit()
    assert trainer.state.step == 3
    assert metrics and all(np.isfinite(v) for v in metrics.values())
    changed = [
        not torch.equal(before[k], v)
        for k, v in trainer.model.state_dict().items()
        if v.is_floating_point()
    ]
    assert any(changed)
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    losses = [float(r.split(",")[3]) for r in rows[1:] if ",train,total," in r]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()
    assert list((tmp_path / "run" / "samples").glob("*.png"))


@pytest.mark.parametrize("cache", [[], ["data.cache_size=40"]], ids=["loader", "cached"])
def test_resume_gives_the_same_weights_as_a_straight_run(tmp_path, photo_folder, cache):
    common = ["max_steps=4", "checkpoint_every=2", "validate_every=100", "ema_decay=0.5", *cache]
    common += ["loss.gan=vanilla", "loss.pretrain_steps=1"]  # the discriminator's state too
    straight = Trainer(tiny_config(tmp_path / "a", photo_folder, *common))
    straight.fit()

    interrupted = Trainer(tiny_config(tmp_path / "b", photo_folder, *common, "max_steps=2"))
    interrupted.fit()
    del interrupted  # as if killed after the checkpoint at step 2
    resumed = Trainer(tiny_config(tmp_path / "b", photo_folder, *common))
    resumed.fit()

    assert resumed.state.step == 4
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)
    for key, value in straight.ema.state_dict().items():
        torch.testing.assert_close(resumed.ema.state_dict()[key], value, rtol=0, atol=0)


def test_max_minutes_stops_at_the_first_step_past_it_with_a_checkpoint(tmp_path, photo_folder):
    overrides = ["max_steps=50", "checkpoint_every=100", "validate_every=100"]
    overrides.append("max_minutes=0.000001")
    trainer = Trainer(tiny_config(tmp_path, photo_folder, *overrides))
    trainer.fit()
    assert trainer.state.step == 1
    assert trainer.latest_checkpoint() is not None
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()
    resumed = Trainer(tiny_config(tmp_path, photo_folder, *overrides[:-1], "max_steps=3"))
    resumed.fit()  # max_minutes may change on resume: the run goes on to max_steps
    assert resumed.state.step == 3


def test_exported_model_loads_and_colorizes(tmp_path, photo_folder):
    Trainer(tiny_config(tmp_path, photo_folder, "loss.discriminator=null")).fit()
    model = pr.CoarseToFine.from_pretrained(tmp_path / "run" / "model")
    out = pr.colorize(torch.rand(3, 20, 30), model=model)
    assert out.shape == (3, 20, 30)


def test_cli_train_and_evaluate(tmp_path, photo_folder, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(f"output_dir: {tmp_path / 'run'}\nmax_steps: 2\n")
    code = cli_main(
        [
            "train",
            "--config",
            str(config),
            f"data.train={photo_folder}",
            "data.image_size=32",
            "data.batch_size=2",
            "model.base_channels=4",
            "model.depth=2",
            "model.base_size=16",
            "loss.discriminator=null",
            "checkpoint_every=2",
            "validate_every=2",
        ]
    )
    assert code == 0
    assert (
        cli_main(
            [
                "evaluate",
                "--model",
                str(tmp_path / "run" / "model"),
                "--data",
                str(photo_folder),
                "--max-images",
                "2",
            ]
        )
        == 0
    )
    output = capsys.readouterr().out
    assert "l1_ab" in output and "ssim" in output and "psnr" in output


def test_mixed_precision_no_survives_yaml(tmp_path):
    assert load_config(None, ["mixed_precision=no"]).mixed_precision == "no"
    with pytest.raises(ConfigurationError, match="mixed_precision must be"):
        load_config(None, ["mixed_precision=fp8"])


def test_config_errors_are_clear(tmp_path):
    with pytest.raises(ConfigurationError, match=r"unknown key\(s\) \['rate'\] in config.optim"):
        load_config(None, ["optim.rate=0.1"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_steps: [1\n")
    with pytest.raises(ConfigurationError, match="cannot read the config"):
        load_config(bad)
    assert cli_main(["train", f"--config={bad}"]) == 2


def test_ema_follows_batchnorm_statistics(tmp_path, photo_folder):
    trainer = Trainer(tiny_config(tmp_path, photo_folder, "ema_decay=0.5"))
    trainer.fit()
    ema_stats = trainer.ema.module.generators[0].stem[1].running_mean
    assert ema_stats.abs().sum() > 0  # not the initial zeros


def test_nonfinite_losses_are_skipped_then_stop(tmp_path, photo_folder):
    from pyramidrefine.training import TrainingError

    trainer = Trainer(tiny_config(tmp_path, photo_folder, "loss.discriminator=null"))
    real_loss, calls = trainer.objective.generator_loss, []

    def sometimes_nan(prediction, target, fake_logits=None):
        calls.append(1)
        total, parts = real_loss(prediction, target, fake_logits)
        return (total * float("nan"), parts) if len(calls) <= 2 else (total, parts)

    trainer.objective.generator_loss = sometimes_nan
    trainer.fit()
    assert trainer.state.step == 3 and trainer.state.skipped_nonfinite == 2

    AcceleratorState._reset_state(reset_partial_state=True)
    always = Trainer(tiny_config(tmp_path / "b", photo_folder, "loss.discriminator=null"))
    always.objective.generator_loss = lambda p, t, f=None: (p.sum() * float("nan"), {})
    with pytest.raises(TrainingError, match="10 steps in a row had non-finite losses"):
        always.fit()
    assert always.state.skipped_nonfinite == 10


def test_nonfinite_gradients_skip_the_step(tmp_path, photo_folder):
    trainer = Trainer(tiny_config(tmp_path, photo_folder, "loss.discriminator=null"))
    weight = trainer.model.generators[0].head.weight
    calls = []

    def poison_twice(grad):
        calls.append(1)
        return grad * float("inf") if len(calls) <= 2 else grad

    weight.register_hook(poison_twice)
    trainer.fit()
    assert trainer.state.step == 3 and trainer.state.skipped_nonfinite == 2
    assert torch.isfinite(weight).all()


def test_training_continues_from_a_saved_model(tmp_path, photo_folder):
    first = Trainer(tiny_config(tmp_path / "a", photo_folder, "loss.discriminator=null"))
    first.fit()
    saved = tmp_path / "a" / "run" / "model"
    pr.CoarseToFine.from_pretrained(saved).half().save_pretrained(tmp_path / "fp16")
    AcceleratorState._reset_state(reset_partial_state=True)
    second = Trainer(
        tiny_config(tmp_path / "b", photo_folder, f"model.init_from={tmp_path / 'fp16'}")
    )
    shipped = pr.CoarseToFine.from_pretrained(tmp_path / "fp16").state_dict()
    for key, value in second.model.state_dict().items():
        torch.testing.assert_close(value, shipped[key].to(value.dtype))
    AcceleratorState._reset_state(reset_partial_state=True)
    wrong = tiny_config(
        tmp_path / "c", photo_folder, f"model.init_from={saved}",
        "model.base_channels=8", "model.depth=2",
    )  # fmt: skip
    with pytest.raises(TrainingError, match="init_from"):
        Trainer(wrong)


def test_a_fine_tune_keeps_its_starts_view_settings_unless_set(tmp_path, photo_folder):
    first = Trainer(tiny_config(tmp_path / "a", photo_folder, "loss.discriminator=null"))
    first.fit()
    start = pr.CoarseToFine.from_pretrained(tmp_path / "a" / "run" / "model")
    start.with_settings(margin=4, dither=0.02, dither_from=1).save_pretrained(tmp_path / "s")
    AcceleratorState._reset_state(reset_partial_state=True)
    tuned = Trainer(
        tiny_config(tmp_path / "b", photo_folder, f"model.init_from={tmp_path / 's'}",
                    "model.dither=0.0", "loss.discriminator=null", "max_steps=1")
    )  # fmt: skip
    assert (tuned.model.margin, tuned.model.dither, tuned.model.dither_from) == (4, 0.0, 1)
    tuned.fit()
    exported = json.loads((tmp_path / "b" / "run" / "model" / "config.json").read_text())
    assert (exported["margin"], exported["dither"], exported["dither_from"]) == (4, 0.0, 1)


def test_a_colour_class_head_needs_the_colour_classes_objective(tmp_path, photo_folder):
    config = tiny_config(tmp_path, photo_folder, "model.colour_bins=8")
    with pytest.raises(ConfigurationError, match=r"loss\.name: colour_classes"):
        Trainer(config).fit()
