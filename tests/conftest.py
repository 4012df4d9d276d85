"""Shared fixtures; every test runs offline (nothing may download)."""

import importlib
import os
import sys
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# ONNX exports and backend measurements (backend="auto") go into a folder of this run's.
os.environ["PYRAMIDREFINE_CACHE"] = tempfile.mkdtemp(prefix="pyramidrefine-test-cache-")

import numpy as np
import pytest
import torch
from accelerate.state import AcceleratorState
from PIL import Image

import pyramidrefine as pr

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def tiny_colorizer() -> pr.CoarseToFine:
    """A small random colorizer (plain U-Net, 2 poolings), in eval mode."""
    return pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    ).eval()


@pytest.fixture
def other_guide_colorizer() -> pr.CoarseToFine:
    """A small colorizer whose guide is not the hints' (1 channel): it takes no hints."""
    return pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2, guide_channels=1
    ).eval()


@pytest.fixture
def fresh_accelerator():
    """Accelerate keeps one global state per process; each training test starts afresh."""
    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """8 smooth synthetic colour photos of 48×40 px."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(8):
        small = (rng.random((4, 5, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((48, 40), Image.BILINEAR).save(folder / f"photo_{i}.png")
    return folder


@pytest.fixture(scope="session")
def import_benchmark():
    """``import_benchmark("report")``: a script of ``benchmarks/`` as a module, its own
    imports of the scripts beside it resolved."""

    def load(name: str):
        sys.path.insert(0, str(BENCHMARKS))
        try:
            return importlib.import_module(name)
        finally:
            sys.path.pop(0)

    return load
