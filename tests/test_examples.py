"""Every example runs as documented, with its tiny ``--smoke`` settings, in a subprocess."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "examples"


def run(*args: str, cwd: Path, pythonpath: tuple[Path, ...] = ()) -> str:
    paths = [*map(str, pythonpath), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env |= {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_wrap_custom_model(tmp_path):
    output = run(str(EXAMPLES / "wrap_custom_model.py"), "--smoke", cwd=tmp_path)
    assert "level 2: (1, 3, 96, 72)" in output


def test_train_from_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        small = (rng.random((4, 5, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((48, 40), Image.BILINEAR).save(folder / f"{i}.png")
    output = run(str(EXAMPLES / "train_from_folder.py"), str(folder), "--smoke", cwd=tmp_path)
    assert "psnr_noisy" in output
    assert (tmp_path / "runs" / "from-folder" / "model" / "model.safetensors").is_file()


def test_colorize_highres(tmp_path):
    output = run(str(EXAMPLES / "colorize_highres.py"), "--smoke", cwd=tmp_path)
    assert "peak memory" in output
    assert Image.open(tmp_path / "outputs" / "highres_color.jpg").size == (384, 256)


def test_plugin_package_registers_through_the_entry_point(tmp_path):
    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
    source = tmp_path / "plugin_package"  # a copy, so that the build leaves examples/ clean
    shutil.copytree(EXAMPLES / "plugin_package", source)
    result = subprocess.run(
        [*install, "--no-index", "--quiet", "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(result.stderr[-3000:])
    code = (
        "import pyramidrefine as pr, torch\n"
        "print(pr.list_generators(), pr.list_losses())\n"
        "m = pr.CoarseToFine('example_convnet', in_channels=1, out_channels=2, levels=2, width=4)\n"
        "print(tuple(m(torch.rand(1, 1, 20, 12)).shape))\n"
        "m.save_pretrained('saved')  # a plugin's named settings load back from config.json\n"
        "print(pr.CoarseToFine.from_pretrained('saved').generators[0].__class__.__name__)\n"
    )
    output = run("-c", code, cwd=tmp_path, pythonpath=(target,))
    assert "example_convnet" in output and "charbonnier" in output
    assert "(1, 2, 20, 12)" in output and "ConvNet" in output
