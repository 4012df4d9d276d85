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
    folder written by ``save_pretrained`` or a Hugging Face Hub id loads that model.
    """
    if name_or_path is None:
        folder = default_colorizer_dir()
        if not _is_model_folder(folder):
            raise ConfigurationError(
                f"the default colorizer weights are not installed ({folder} lacks "
                f"{' + '.join(MODEL_FILES)}); pass model= (CLI: --model) a folder written "
                "by save_pretrained or a Hugging Face Hub id"
            )
        model = CoarseToFine.from_pretrained(folder)
    else:
        model = _from_folder_or_hub(name_or_path)
    return (model.to(device) if device is not None else model).eval()


def _from_folder_or_hub(name_or_path: str | os.PathLike) -> CoarseToFine:
    path = Path(name_or_path).expanduser()
    if _is_model_folder(path):
        return CoarseToFine.from_pretrained(path)
    if path.exists():
        raise ConfigurationError(
            f"{path}: not a model folder (needs {' + '.join(MODEL_FILES)}, as written by "
            "save_pretrained)"
        )
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        raise ConfigurationError(f"{path}: no such model folder")
    try:
        return CoarseToFine.from_pretrained(str(name_or_path))
    except (OSError, ValueError) as error:
        raise ConfigurationError(
            f"{name_or_path}: no such model folder, and loading it from the Hugging Face Hub "
            f"failed ({type(error).__name__})"
        ) from error


def _is_model_folder(path: Path) -> bool:
    return all((path / name).is_file() for name in MODEL_FILES)


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``name`` or ``owner/name``; anything else is meant as a folder."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name
