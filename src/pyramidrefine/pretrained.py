"""``load_colorizer``: the colorizer shipped with the package, a local folder or a Hub id."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import torch

from .errors import ConfigurationError
from .pyramid import CoarseToFine

MODEL_FILES = ("config.json", "model.safetensors")


def default_colorizer_dir() -> Path:
    """Folder of the colorizer shipped inside the package (absent until weights are added)."""
    return Path(str(resources.files(__package__) / "weights" / "colorizer"))


def load_colorizer(
    name_or_path: str | os.PathLike | None = None, *, device: str | torch.device | None = None
) -> CoarseToFine:
    """Load a colorizer in eval mode (on ``device`` if given).

    ``None`` loads the default model shipped in ``pyramidrefine/weights/colorizer``; a
    folder written by ``save_pretrained`` or a Hugging Face Hub id loads that model
    (errors: :class:`~pyramidrefine.errors.CheckpointError`).
    """
    if name_or_path is None:
        name_or_path = default_colorizer_dir()
        if not all((name_or_path / name).is_file() for name in MODEL_FILES):
            raise ConfigurationError(
                f"the default colorizer weights are not installed ({name_or_path} lacks "
                f"{' + '.join(MODEL_FILES)}); pass model= (CLI: --model) a folder written "
                "by save_pretrained or a Hugging Face Hub id"
            )
    model = CoarseToFine.from_pretrained(name_or_path)
    return (model.to(device) if device is not None else model).eval()
