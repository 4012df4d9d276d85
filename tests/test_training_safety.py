"""Training refuses bad configs in one line before any work, keeps runs apart, and its
defaults are the recipe's (L1; a GAN only when asked, after an L1 warm-up)."""

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from accelerate.state import AcceleratorState

from pyramidrefine.cli import main as cli_main
from pyramidrefine.errors import ConfigurationError
from pyramidrefine.training import TrainConfig, Trainer, load_config
from pyramidrefine.training import checks as training_checks
from pyramidrefine.training.checks import check_config
from pyramidrefine.training.run_folder import default_output_dir

pytestmark = pytest.mark.usefixtures("fresh_accelerator")
CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
TINY = [
    "data.image_size=32",
    "data.batch_size=2",
    "data.val_fraction=0.25",
    "data.val_max_images=1",
    "data.num_workers=0",
    "model.base_channels=4",
    "model.depth=2",
    "model.base_size=16",
    "loss.discriminator_kwargs={base_channels: 8, n_layers: 2}",
    "validate_every=100",
    "log_every=1",
]


class Killed(BaseException):
    """Stands for a SIGKILL."""


def tiny(output, photos, *overrides):
    return load_config(
        None, [f"output_dir={output}", f"data.train={photos}", *TINY, "max_steps=1", *overrides]
    )


def one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("pyramidrefine train: error: ")
    return lines[0]


def metric_rows(run):
    with (run / "metrics.csv").open() as file:
        return list(csv.DictReader(file))


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("optim.lr=-0.001", "optim.lr"),
        ("optim.lr=0", "optim.lr"),
        ("data.batch_size=0", "data.batch_size"),
        ("gradient_accumulation_steps=0", "gradient_accumulation_steps"),
        ("checkpoint_every=0", "checkpoint_every"),
        ("max_steps=0", "max_steps"),
        ("max_minutes=0", "max_minutes"),
        ("data.image_size=100000", "data.image_size"),
        ("data.batch_size=many", "data.batch_size"),
        ("data.cache_size=16", "data.cache_size"),
    ],
)
def test_bad_values_fail_in_one_line_before_anything_is_written(
    tmp_path, photo_folder, capsys, override, key
):
    run = tmp_path / "run"
    argv = ["train", f"output_dir={run}", f"data.train={photo_folder}", *TINY, *override.split()]
    assert cli_main(argv) == 2
    assert key in one_error_line(capsys)
    assert not run.exists()  # refused before any folder, model or data was made


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_runs_anywhere_given_its_data(tmp_path, photo_folder, capsys, config):
    assert "shared/data" not in config.read_text() and "../" not in config.read_text()
    loaded = load_config(config)
    assert not loaded.data.train and not loaded.data.val
    with pytest.raises(ConfigurationError, match=r"data\.train is not set.*data\.train=\S+"):
        check_config(loaded)
    check_config(load_config(config, [f"data.train={photo_folder}"]))
    assert cli_main(["train", "--config", str(config), f"output_dir={tmp_path}"]) == 2
    assert "data.train" in one_error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_a_config_trains_one_tiny_step(tmp_path, photo_folder):
    config = Path(__file__).parents[1] / "configs" / "colorize-pyramid.yaml"
    overrides = [f"output_dir={tmp_path / 'run'}", f"data.train={photo_folder}", *TINY]
    overrides += ["max_steps=1", "mixed_precision='no'", "scheme.level_weights=[0.5, 1.0]"]
    trainer = Trainer(load_config(config, overrides))
    trainer.fit()
    assert trainer.state.step == 1 and (tmp_path / "run" / "model" / "model.safetensors").exists()


def test_an_empty_data_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    argv = ["train", f"output_dir={tmp_path / 'run'}", f"data.train={tmp_path / 'empty'}", *TINY]
    assert cli_main(argv) == 2
    assert "empty" in one_error_line(capsys)


def test_a_step_larger_than_the_memory_is_refused_before_the_data_loads(
    tmp_path, photo_folder, monkeypatch
):
    config = tiny(tmp_path / "run", tmp_path / "not-loaded-yet", "data.batch_size=4")
    monkeypatch.setattr(training_checks, "available_memory", lambda device: 2**10)
    with pytest.raises(ConfigurationError, match=r"needs about [\d.]+ MiB \(data\.batch_size=4"):
        Trainer(config)  # the missing data folder is never reached


def test_the_memory_estimate_grows_with_batch_and_crop(tmp_path, photo_folder):
    from pyramidrefine import CoarseToFine

    model = CoarseToFine("unet", in_channels=1, out_channels=2, base_size=16, base_channels=4)
    sizes = {}
    for batch, side in [(2, 32), (4, 32), (2, 64)]:
        config = tiny(tmp_path, photo_folder, f"data.batch_size={batch}", f"data.image_size={side}")
        sizes[batch, side] = training_checks.training_bytes(model, config)
    activations = sizes[4, 32] - sizes[2, 32]  # of 2 crops of 32 px
    assert activations > 0
    assert sizes[2, 64] - sizes[2, 32] > 2 * activations  # 64 px: 4x the final level's pixels


def test_a_run_killed_before_its_first_checkpoint_logs_each_step_once(tmp_path, photo_folder):
    config = tiny(tmp_path / "run", photo_folder, "max_steps=2", "checkpoint_every=2")
    killed = Trainer(config)

    def killed_while_saving():
        raise Killed

    killed.save_checkpoint = killed_while_saving
    with pytest.raises(Killed):
        killed.fit()
    assert {r["step"] for r in metric_rows(tmp_path / "run")} == {"1", "2"}
    AcceleratorState._reset_state(reset_partial_state=True)
    Trainer(config).fit()
    rows = [(r["step"], r["split"], r["name"]) for r in metric_rows(tmp_path / "run")]
    assert len(rows) == len(set(rows)) and {step for step, _, _ in rows} == {"1", "2"}


def test_another_experiment_in_the_same_folder_is_refused_and_fresh_starts_over(
    tmp_path, photo_folder, capsys
):
    run = tmp_path / "run"
    base = ["train", f"output_dir={run}", f"data.train={photo_folder}", *TINY, "max_steps=1"]
    assert cli_main(base) == 0
    assert f"model: {run / 'model'}" in capsys.readouterr().out

    assert cli_main([*base, "model.base_size=8", "data.val_fraction=0.5"]) == 2
    line = one_error_line(capsys)
    assert "model.base_size: 16 -> 8" in line and "data.val_fraction: 0.25 -> 0.5" in line
    assert "--fresh" in line
    assert load_config(run / "config.yaml").model["base_size"] == 16  # not overwritten

    # What does not change the experiment may differ: nothing left to train here.
    assert cli_main([*base, "log_every=5", "validate_every=7"]) == 0
    out = capsys.readouterr().out
    assert "nothing to train" in out and "already at step 1" in out and "model:" in out

    assert cli_main([*base, "model.base_size=8", "--fresh"]) == 0
    assert load_config(run / "config.yaml").model["base_size"] == 8
    assert [p.name for p in (run / "checkpoints").glob("step-*")] == ["step-00000001"]
    assert json.loads((run / "model" / "config.json").read_text())["base_size"] == 8


def test_the_default_output_folder_is_new_for_every_run(tmp_path, photo_folder, monkeypatch):
    when = datetime(2026, 1, 2, 3, 4, 5)
    first = default_output_dir("denoising", when, root=tmp_path)
    assert first == str(tmp_path / "denoising-20260102-030405")
    Path(first).mkdir()
    assert default_output_dir("denoising", when, root=tmp_path) == f"{first}-2"

    monkeypatch.chdir(tmp_path)
    config = load_config(None, [f"data.train={photo_folder}", *TINY])
    assert config.output_dir is None
    trainer = Trainer(config)
    assert trainer.output_dir.parent == Path("runs")
    assert trainer.output_dir.name.startswith("colorization-")


def test_a_bare_train_is_l1_and_the_gan_starts_after_a_warm_up(tmp_path, photo_folder):
    defaults = TrainConfig()
    assert defaults.loss.gan == "none" and defaults.loss.gan_start(defaults.max_steps) is None
    assert Trainer(tiny(tmp_path / "l1", photo_folder)).discriminator is None

    AcceleratorState._reset_state(reset_partial_state=True)
    gan = Trainer(tiny(tmp_path / "gan", photo_folder, "loss.gan=vanilla", "max_steps=4"))
    assert gan.gan_start == 3  # the first three quarters are L1 only
    gan.fit()
    adversarial = {r["step"] for r in metric_rows(tmp_path / "gan") if r["name"] == "discriminator"}
    assert adversarial == {"4"}


def test_the_discriminator_warms_up_alone_before_the_generator_hears_it(tmp_path, photo_folder):
    overrides = ("loss.gan=vanilla", "loss.pretrain_steps=1", "loss.discriminator_warmup=2")
    Trainer(tiny(tmp_path / "gan", photo_folder, *overrides, "max_steps=5")).fit()
    rows = metric_rows(tmp_path / "gan")
    judged = {r["step"] for r in rows if r["name"] == "discriminator"}
    heard = {r["step"] for r in rows if r["name"] == "gan" and float(r["value"]) != 0}
    assert judged == {"2", "3", "4", "5"}
    assert heard == {"4", "5"}


@pytest.mark.parametrize("cache", [[], ["data.cache_size=48"]], ids=["decoded", "cached"])
def test_fewer_photos_than_a_batch_is_one_line_and_writes_nothing(
    tmp_path, photo_folder, capsys, cache
):
    run = tmp_path / "run"  # 8 photos, a quarter held out: 6 to train on
    argv = ["train", f"output_dir={run}", f"data.train={photo_folder}", *TINY, "max_steps=1"]
    assert cli_main([*argv, "data.batch_size=7", *cache]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert errors == [
        "pyramidrefine train: error: 6 training images are fewer than data.batch_size=7; "
        "add photos or lower data.batch_size"
    ]
    assert not run.exists()  # no config.yaml, no image cache of a run that never started
