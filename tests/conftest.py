"""Shared fixtures; every test runs offline (nothing may download)."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import pytest
import torch

import pyramidrefine as pr


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def tiny_colorizer() -> pr.CoarseToFine:
    """A small random colorizer (plain U-Net, 2 poolings), in eval mode."""
    return pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    ).eval()
