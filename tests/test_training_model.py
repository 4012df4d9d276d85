"""The training YAML's ``model:`` section is CoarseToFine's keyword arguments (the keys of
``config.json``), and the objective comes from the loss registry (``loss.name``)."""

import json
import warnings

import pytest
import torch
from accelerate.state import AcceleratorState

import pyramidrefine as pr
from pyramidrefine.errors import ConfigurationError, TrainingError, UnknownNameError
from pyramidrefine.losses import Pix2PixObjective
from pyramidrefine.registry import register_loss
from pyramidrefine.training import TrainConfig, Trainer, load_config
from pyramidrefine.training.checks import check_config
from pyramidrefine.training.run_folder import changed_keys

pytestmark = pytest.mark.usefixtures("fresh_accelerator")
TINY = [
    "max_steps=1",
    "log_every=1",
    "data.image_size=32",
    "data.batch_size=2",
    "data.val_fraction=0.25",
    "data.val_max_images=1",
    "model.base_channels=4",
    "model.depth=2",
    "model.base_size=16",
]


def tiny(tmp_path, photo_folder, *overrides):
    return load_config(
        None, [f"output_dir={tmp_path / 'run'}", f"data.train={photo_folder}", *TINY, *overrides]
    )


def test_the_model_section_is_saved_as_config_json(tmp_path, photo_folder):
    Trainer(tiny(tmp_path, photo_folder, "model.max_levels=1", "model.overlap=8")).fit()
    saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert (saved["max_levels"], saved["overlap"], saved["base_channels"]) == (1, 8, 4)
    model = pr.CoarseToFine.from_pretrained(tmp_path / "run" / "model")
    assert model.max_levels == 1 and model.num_levels(64, 64) == 1


def test_generator_kwargs_still_read_flattened_with_a_note():
    with pytest.warns(FutureWarning, match=r"model.generator_kwargs is deprecated.*model\.depth"):
        old = load_config(None, ["model.generator_kwargs={base_channels: 4, depth: 2}"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = load_config(None, ["model.base_channels=4", "model.depth=2"])
    assert (
        old.model
        == new.model
        == {
            "generator": "unet",
            "base_channels": 4,
            "depth": 2,
            "base_size": 128,
        }
    )
    assert "generator_kwargs" not in old.to_dict()["model"]


def test_base_size_defaults_to_128_unless_levels_are_fixed():
    assert TrainConfig().model == {"generator": "unet", "base_size": 128}
    assert load_config(None, ["model.levels=2"]).model == {"generator": "unet", "levels": 2}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.lr=0.1", r"model: unknown key 'lr' for the 'unet' generator \(it takes "),
        ("model.in_channels=3", "model.in_channels is set by the task"),
        ("model.levels=0", "model: levels must be at least 1"),
        ("model.max_levels=two", "model: max_levels must be an integer"),
        ("model.shared=yes please", "model: shared must be true or false"),
        ("model.tile=8", "model: a saved tile must be at least 32 px"),
        ("model.refiner={depth: 99}", "model: depth must be an integer from 1 to 8"),
        ("model.generator=nope", "model: unknown generator 'nope'"),
        ("model=[1]", "config.model must be a mapping"),
    ],
)
def test_bad_model_keys_are_one_line_before_anything_is_built(tmp_path, override, message):
    with pytest.raises(ConfigurationError, match=message):
        check_config(load_config(None, ["data.train=photos", override]))


def test_levels_with_a_base_size_are_one_line(tmp_path, photo_folder):
    config = tiny(tmp_path, photo_folder, "model.levels=2")
    assert config.model["base_size"] == 16  # given: kept, not silently dropped
    with pytest.raises(ConfigurationError, match="model: give either levels or base_size"):
        Trainer(config)
    assert not (tmp_path / "run").exists()


class HalfL1(Pix2PixObjective):
    """A loss of one's own: pix2pix at half the L1 weight."""

    def __init__(self, l1_weight: float, gan=None, scale: float = 0.5) -> None:
        super().__init__(l1_weight=l1_weight * scale, gan=gan)


register_loss("test_half_l1", override=True)(HalfL1)
register_loss("l1_free", override=True)(lambda l1_weight, gan: torch.nn.L1Loss())


def test_a_loss_plugin_is_one_config_line(tmp_path, photo_folder):
    default = Trainer(tiny(tmp_path / "a", photo_folder))
    assert type(default.objective) is Pix2PixObjective and default.objective.gan is None
    AcceleratorState._reset_state(reset_partial_state=True)
    config = tiny(
        tmp_path / "b", photo_folder, "loss.name=test_half_l1", "loss.kwargs={scale: 0.25}"
    )
    trainer = Trainer(config)
    assert isinstance(trainer.objective, HalfL1) and trainer.objective.l1_weight == 25.0
    trainer.fit()
    assert trainer.state.step == 1


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("nope", UnknownNameError, "unknown loss 'nope'"),
        ("l1", ConfigurationError, r"loss.name='l1' cannot build a training objective \("),
        ("l1_free", ConfigurationError, "loss.name='l1_free' builds a L1Loss, which has no gene"),
    ],
)
def test_a_loss_that_is_no_objective_is_one_line(tmp_path, photo_folder, name, error, message):
    with pytest.raises(error, match=message):
        Trainer(tiny(tmp_path, photo_folder, f"loss.name={name}"))


def test_training_error_is_a_public_error():
    import pyramidrefine.training as training

    assert training.TrainingError is TrainingError
    assert issubclass(TrainingError, pr.errors.PyramidRefineError)


def test_a_run_folder_saved_with_generator_kwargs_still_resumes(tmp_path):
    old = tmp_path / "config.yaml"
    old.write_text("model:\n  generator: unet\n  generator_kwargs: {base_channels: 4, depth: 2}\n")
    with pytest.warns(FutureWarning):
        before = load_config(old).to_dict()
    after = load_config(None, ["model.base_channels=4", "model.depth=2"]).to_dict()
    assert changed_keys(before, after) == []
