"""The denoising task, and the trainer/evaluation running it as they run colorization."""

from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate.state import AcceleratorState

import pyramidrefine as pr
from pyramidrefine.cli import main as cli_main
from pyramidrefine.errors import ConfigurationError
from pyramidrefine.training import Trainer, load_config

CONFIG = Path(__file__).parents[1] / "configs" / "denoise-pyramid.yaml"

pytestmark = pytest.mark.usefixtures("fresh_accelerator")


def tiny_config(output, photo_folder, *overrides):
    return load_config(
        CONFIG,
        [
            f"output_dir={output}",
            f"data.train={photo_folder}",
            "data.val=null",
            "data.val_fraction=0.34",
            "data.val_max_images=2",
            "data.image_size=32",
            "data.batch_size=2",
            "data.num_workers=0",
            "mixed_precision='no'",
            "model.base_channels=4",
            "model.depth=2",
            "model.base_size=16",
            "scheme.level_weights=[0.5, 1.0]",
            "max_steps=3",
            "checkpoint_every=3",
            "validate_every=3",
            "log_every=1",
            *overrides,
        ],
    )


def test_noise_is_seeded_and_renders_back():
    task = pr.create_task("denoising", sigma=(10, 30), jpeg_quality=(40, 60))
    rgb = torch.nn.functional.interpolate(torch.rand(2, 3, 4, 5), (17, 23), mode="bilinear")
    a = task.prepare(rgb, torch.Generator().manual_seed(3))
    b = task.prepare(rgb, torch.Generator().manual_seed(3))
    c = task.prepare(rgb, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    inputs, targets = a
    assert inputs.shape == targets.shape == (2, 3, 17, 23)
    assert inputs.min() >= -1 and inputs.max() <= 1
    torch.testing.assert_close(task.render(inputs, targets), rgb, atol=1e-6, rtol=0)
    noisy = task.render(inputs, task.reference(inputs))
    torch.testing.assert_close(noisy, (inputs + 1) / 2)
    assert 0.02 < (noisy - rgb).abs().mean() < 0.15


def test_gaussian_only_has_the_requested_sigma():
    task = pr.DenoisingTask(sigma=(25, 25), jpeg_quality=None)
    rgb = torch.full((1, 3, 64, 64), 0.5)
    noisy = task.degrade(rgb, torch.Generator().manual_seed(0))
    assert abs(float((noisy - rgb).std()) * 255 - 25) < 1


@pytest.mark.parametrize(
    "kwargs",
    [{"sigma": (30, 10)}, {"sigma": (-1, 5)}, {"jpeg_quality": (0, 50)}, {"sigma": (1, 2, 3)}],
)
def test_bad_noise_models_are_configuration_errors(kwargs):
    with pytest.raises(ConfigurationError):
        pr.DenoisingTask(**kwargs)
    with pytest.raises(ConfigurationError, match="needs sigma"):
        pr.DenoisingTask(sigma=None, jpeg_quality=None)


def test_evaluate_reports_the_noisy_reference():
    model = pr.CoarseToFine("unet", in_channels=3, out_channels=3, levels=2, base_channels=4)
    images = [torch.rand(1, 3, 24, 20), torch.rand(1, 3, 19, 31)]
    task = pr.DenoisingTask()
    metrics = pr.evaluate(model.eval(), images, task)
    assert metrics == pr.evaluate(model, images, task)  # same noise every time
    assert set(metrics) == {
        f"{m}{s}" for m in ("l1_residual", "ssim", "psnr") for s in ("", "_noisy")
    }
    assert metrics["l1_residual_noisy"] > 0


def test_trains_resumes_exactly_and_evaluates_from_the_cli(tmp_path, photo_folder, capsys):
    common = ["max_steps=4", "checkpoint_every=2", "validate_every=2", "ema_decay=0.5"]
    straight = Trainer(tiny_config(tmp_path / "a", photo_folder, *common))
    metrics = straight.fit()
    assert "psnr_noisy" in metrics and np.isfinite(metrics["psnr"])
    assert list((tmp_path / "a" / "samples").glob("*.png"))

    AcceleratorState._reset_state(reset_partial_state=True)
    Trainer(tiny_config(tmp_path / "b", photo_folder, *common, "max_steps=2")).fit()
    AcceleratorState._reset_state(reset_partial_state=True)
    resumed = Trainer(tiny_config(tmp_path / "b", photo_folder, *common))
    resumed.fit()
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)

    args = ["evaluate", "--model", str(tmp_path / "a" / "model"), "--data", str(photo_folder)]
    assert cli_main([*args, "--max-images", "2"]) == 0
    output = capsys.readouterr().out
    assert "noisy" in output and "l1_residual" in output


def test_shipped_config_builds_the_task():
    config = load_config(CONFIG)
    task = pr.create_task(config.task, **config.task_kwargs)
    assert isinstance(task, pr.DenoisingTask)
    assert task.sigma == (5, 50) and task.jpeg_quality == (30, 95)
    assert config.data.train is None and config.data.val is None  # given where it runs
