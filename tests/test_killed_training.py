"""Training killed with SIGKILL at random moments, during checkpoint writes too, resumes
exactly: no corrupt checkpoint, at most one interval lost, final weights bit-identical."""

import csv
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

CHECKPOINT_EVERY = 2
MAX_STEPS = 16

# Runs the CLI; KILL_AT_SAVE=n makes the process SIGKILL itself in the middle of the n-th
# safetensors write (after the first tensors are on disk), i.e. during a checkpoint.
RUNNER = textwrap.dedent(
    """
    import os, signal, sys
    import safetensors.torch

    kill_at = int(os.environ.get("KILL_AT_SAVE", "0"))
    original, calls = safetensors.torch.save_file, [0]

    def save_file(tensors, filename, *args, **kwargs):
        calls[0] += 1
        if calls[0] == kill_at:
            half = dict(list(tensors.items())[: len(tensors) // 2])
            original(half, filename, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        return original(tensors, filename, *args, **kwargs)

    safetensors.torch.save_file = save_file
    from pyramidrefine.cli import main  # after the patch: everything sees the wrapper

    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(1)
    for i in range(6):
        small = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((40, 40), Image.BILINEAR).save(folder / f"{i}.png")
    return folder


def command(run_dir, photos):
    return [
        sys.executable,
        "-c",
        RUNNER,
        "train",
        f"output_dir={run_dir}",
        f"data.train={photos}",
        f"max_steps={MAX_STEPS}",
        f"checkpoint_every={CHECKPOINT_EVERY}",
        "validate_every=1000",
        "log_every=1",
        "data.image_size=32",
        "data.batch_size=2",
        "data.val_fraction=0",
        "model.base_size=16",
        "model.base_channels=4",
        "model.depth=2",
        "loss.gan=vanilla",
        "loss.pretrain_steps=0",
        "loss.discriminator_kwargs={base_channels: 8, n_layers: 2}",
        "ema_decay=0.5",
    ]


def environment(kill_at_save=0):
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "KILL_AT_SAVE": str(kill_at_save),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }


def last_logged_step(run_dir):
    try:
        with (run_dir / "metrics.csv").open() as file:
            return max((int(r["step"]) for r in csv.DictReader(file)), default=0)
    except (OSError, ValueError, KeyError, TypeError):  # absent, or being written
        return 0


def check_checkpoints(run_dir):
    """Every visible checkpoint is complete and loads; ``latest`` names one of them."""
    folder = run_dir / "checkpoints"
    if not (folder / "latest").exists():
        return 0
    latest = folder / (folder / "latest").read_text().strip()
    assert latest.is_dir()
    for checkpoint in folder.glob("step-*"):
        names = {p.name for p in checkpoint.iterdir()}
        assert {"model.safetensors", "optimizer.bin", "random_states_0.pkl"} <= names
        assert load_file(checkpoint / "model.safetensors")
    return int(latest.name.removeprefix("step-"))


def test_sigkill_anywhere_then_resume_matches_an_uninterrupted_run(tmp_path, photos):
    straight = tmp_path / "straight"
    subprocess.run(
        command(straight, photos), env=environment(), check=True, capture_output=True, timeout=600
    )

    killed = tmp_path / "killed"
    rng = random.Random(7)
    # Safetensors writes per checkpoint: generator + discriminator (+ the export's one).
    plans = [("save", 4), ("step", None), ("save", 2), ("step", None)]
    kills = 0
    for kind, value in plans + [("finish", None)] * 3:
        before = check_checkpoints(killed)
        env = environment(kill_at_save=value if kind == "save" else 0)
        process = subprocess.Popen(
            command(killed, photos), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if kind == "step":  # SIGKILL once training has passed a random step
            target = rng.randint(before + 1, MAX_STEPS - 2)
            while process.poll() is None and last_logged_step(killed) < target:
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=600)
        resumed_from = check_checkpoints(killed)
        assert resumed_from >= before  # a kill never takes a checkpoint away
        if code == 0:
            break
        assert code == -signal.SIGKILL  # died by the kill, not by an error
        kills += 1
        assert last_logged_step(killed) - resumed_from <= CHECKPOINT_EVERY
    assert code == 0 and kills >= 2
    assert not list((killed / "checkpoints").glob(".*"))  # leftovers of killed writes cleaned

    expected = load_file(straight / "model" / "model.safetensors")
    actual = load_file(killed / "model" / "model.safetensors")
    assert expected.keys() == actual.keys()
    for key in expected:
        assert (expected[key] == actual[key]).all(), key
    config = json.loads((killed / "model" / "config.json").read_text())
    assert config["base_size"] == 16
