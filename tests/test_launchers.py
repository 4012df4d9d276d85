"""The installed torch stack imports together and colorize runs under the usual launchers."""

import os
import re
import shutil
import subprocess
import sys

import pytest
from PIL import Image

LAUNCHER_TIMEOUT = 300


def _run(command: list[str], cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=LAUNCHER_TIMEOUT, env=env
    )


@pytest.fixture
def photos(tmp_path):
    names = []
    for index in range(3):
        name = f"photo{index}.png"
        Image.new("L", (40 + 8 * index, 32), 90 + 40 * index).save(tmp_path / name)
        names.append(name)
    return names


def test_timm_smp_and_torchvision_import_beside_the_package():
    script = "import pyramidrefine, timm, torchvision, segmentation_models_pytorch; print('ok')"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _outputs(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def _coloured_counts(output: str) -> list[int]:
    return [int(count) for count in re.findall(r"(\d+) coloured", output)]


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate's launcher missing")
def test_accelerate_launch_cpu_colours_every_file(tmp_path, photos):
    command = ["accelerate", "launch", "--cpu", "--num_processes", "2", "--num_machines", "1"]
    command += ["--mixed_precision", "no", "--dynamo_backend", "no"]
    command += ["-m", "pyramidrefine.cli", "colorize", *photos, "--out", "out"]
    result = _run(command, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sum(_coloured_counts(result.stdout)) == len(photos)
    assert _outputs(tmp_path / "out") == [name.replace(".png", "_color.png") for name in photos]


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate's launcher missing")
def test_accelerate_launch_two_cpu_processes_share_out_the_files(tmp_path, photos):
    """accelerate's multi-process launcher on a machine without GPUs: two CPU processes."""
    command = ["accelerate", "launch", "--multi_gpu", "--num_processes", "2"]
    command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    command += ["-m", "pyramidrefine.cli", "colorize", *photos, "--out", "out"]
    result = _run(command, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    counts = _coloured_counts(result.stdout)
    assert len(counts) == 2 and sum(counts) == len(photos), result.stdout
    assert _outputs(tmp_path / "out") == [name.replace(".png", "_color.png") for name in photos]


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun missing")
def test_torchrun_two_processes_share_out_the_files(tmp_path, photos):
    command = ["torchrun", "--nproc_per_node", "2", "-m", "pyramidrefine.cli", "colorize"]
    result = _run([*command, *photos, "--out", "out"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    counts = _coloured_counts(result.stdout)
    assert len(counts) == 2 and sum(counts) == len(photos), result.stdout
    assert "process 0:" in result.stdout and "process 1:" in result.stdout
    assert _outputs(tmp_path / "out") == [name.replace(".png", "_color.png") for name in photos]
