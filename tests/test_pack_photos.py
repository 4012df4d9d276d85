"""scripts/pack_photos.py: photos packed small into one Parquet file that trains as data.train."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from pyramidrefine.data import load_image_dataset, open_image

SCRIPT = Path(__file__).parents[1] / "scripts" / "pack_photos.py"


def pack(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True)


def test_packed_photos_load_shrunk_and_greyscale_ones_are_left_out(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray((rng.random((60, 90, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    Image.fromarray(np.full((60, 90), 128, np.uint8)).save(folder / "grey.png")
    out = tmp_path / "packed.parquet"
    result = pack(out, folder, "--max-side", 45)
    assert result.returncode == 0, result.stderr
    rows = load_image_dataset(str(out))
    assert len(rows) == 3
    assert all(open_image(row["image"]).size == (45, 30) for row in rows)
    assert pack(tmp_path / "two.parquet", f"{folder}:2").returncode == 0
    assert len(load_image_dataset(str(tmp_path / "two.parquet"))) == 2


def test_over_the_budget_writes_nothing(tmp_path, photo_folder):
    out = tmp_path / "packed.parquet"
    result = pack(out, photo_folder, "--budget-mb", 0.000001)
    assert result.returncode != 0 and "--budget-mb" in result.stderr
    assert not out.exists()
