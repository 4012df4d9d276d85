import json
import os
import pickle
import stat

import pytest
import torch
from safetensors.torch import load_file, save_file

import pyramidrefine as pr
from pyramidrefine.errors import CheckpointError


@pytest.fixture
def saved(tmp_path):
    model = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    )
    model.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


class _Exploit:
    """Unpickling this writes a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def plant_pickle(path, marker):
    path.write_bytes(pickle.dumps({"state_dict": _Exploit(marker)}))


def test_save_is_atomic_and_loads_strictly(saved):
    assert sorted(p.name for p in saved.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    assert not list(saved.parent.glob(".*tmp*"))
    assert isinstance(pr.CoarseToFine.from_pretrained(saved), pr.CoarseToFine)


def test_saved_files_have_the_permissions_of_any_new_file(saved):
    umask = os.umask(0o022)
    os.umask(umask)
    for path in saved.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path.name
    assert stat.S_IMODE(saved.stat().st_mode) == 0o777 & ~umask


def test_model_card_says_what_the_model_is_and_how_to_load_it(saved):
    card = (saved / "README.md").read_text()
    assert "pushed to the Hub" not in card and "More Information Needed" not in card
    assert "library_name: pyramidrefine" in card
    assert "L → ab" in card and "2 pyramid levels" in card
    assert "| `in_channels` | `1` |" in card and '| `generator` | `"unet"` |' in card
    # The card travels with the model: the folder by its name, no path of this machine.
    assert 'pr.CoarseToFine.from_pretrained("model")' in card
    assert "pyramidrefine colorize photos/ --out coloured/ --model model" in card
    assert str(saved.parent) not in card and "http" not in card


def test_model_card_of_another_task_does_not_claim_colorization(tmp_path):
    model = pr.CoarseToFine("unet", in_channels=3, out_channels=3, base_size=64, tile=96)
    model.save_pretrained(tmp_path / "denoiser")
    card = (tmp_path / "denoiser" / "README.md").read_text()
    assert "RGB to RGB" in card and "colorize" not in card
    assert "long side of 64 px" in card and "larger than 96 px run tile by tile" in card


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    model = pr.CoarseToFine("unet", in_channels=1, out_channels=2, levels=1, depth=1)

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pr.CoarseToFine, "_save_pretrained", explode)
    with pytest.raises(OSError, match="disk full"):
        model.save_pretrained(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".bin", ".pt"])
def test_pickles_are_refused_and_never_executed(tmp_path, suffix):
    marker = tmp_path / "pwned"
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"in_channels": 1, "out_channels": 2}))
    plant_pickle(folder / f"pytorch_model{suffix}", marker)
    with pytest.raises(CheckpointError, match="pickle files can run arbitrary code"):
        pr.CoarseToFine.from_pretrained(folder)
    with pytest.raises(CheckpointError, match=r"not a single file.*pickle"):
        pr.CoarseToFine.from_pretrained(folder / f"pytorch_model{suffix}")
    with pytest.raises(CheckpointError):
        pr.colorize(torch.rand(3, 8, 8), model=folder)
    assert not marker.exists()


def test_weights_of_another_model_are_refused(saved, tmp_path):
    other = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=8, depth=2
    )
    other.save_pretrained(tmp_path / "other")
    (saved / "model.safetensors").write_bytes((tmp_path / "other/model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="does not fit the architecture"):
        pr.CoarseToFine.from_pretrained(saved)


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_missing_or_extra_weights_are_refused(saved, change):
    weights = load_file(saved / "model.safetensors")
    if change == "missing":
        weights.pop(next(k for k in weights if k.endswith(".weight")))
    else:
        weights["generators.0.surplus"] = torch.zeros(3)
    save_file(weights, saved / "model.safetensors")
    with pytest.raises(CheckpointError, match="missing/extra weights"):
        pr.CoarseToFine.from_pretrained(saved)


def test_config_with_unknown_keys_is_refused(saved):
    config = json.loads((saved / "config.json").read_text())
    (saved / "config.json").write_text(json.dumps({**config, "levles": 3}))
    with pytest.raises(CheckpointError, match=r"config\.json does not describe.*levles"):
        pr.CoarseToFine.from_pretrained(saved)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "no such model folder"),
        (lambda d: d.mkdir(), "no config.json"),
        (lambda d: (d.mkdir(), (d / "config.json").write_text("{}")), "no model.safetensors"),
        (
            lambda d: (
                d.mkdir(),
                (d / "config.json").write_text("{oops"),
                (d / "model.safetensors").write_bytes(b""),
            ),
            "not valid JSON",
        ),
    ],
    ids=["missing", "no-config", "no-weights", "bad-json"],
)
def test_broken_model_folders(tmp_path, setup, message):
    folder = tmp_path / "model"
    setup(folder)
    with pytest.raises(CheckpointError, match=message):
        pr.CoarseToFine.from_pretrained(folder)


def test_unknown_hub_id_offline_is_a_clear_error():
    with pytest.raises(CheckpointError, match="could not provide it"):
        pr.CoarseToFine.from_pretrained("nobody/no-such-colorizer")


def test_a_killed_runs_half_written_checkpoint_pointer_and_folders_are_removed(tmp_path):
    from pyramidrefine.training.checkpointing import Checkpoints

    checkpoints = Checkpoints(accelerator=None, output_dir=tmp_path, keep=2)
    checkpoints.folder.mkdir()
    (checkpoints.folder / ".latest.tmp-4242-abcdefgh").write_text("step-000")  # killed mid-write
    (checkpoints.folder / ".step-00000100.tmp").mkdir()
    (tmp_path / ".model.tmp-4242-abcdefgh").mkdir()
    (checkpoints.folder / "latest").write_text("step-00000050")
    checkpoints.remove_partial_writes()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["checkpoints", "latest"]
