"""Safe save/load of models: ``config.json`` + ``model.safetensors``, never a pickle.

:class:`SafeHubMixin` is huggingface_hub's ``PyTorchModelHubMixin`` (which records the
constructor's arguments as ``config.json`` and handles Hub ids) with three changes:
saving is atomic, weights must match the architecture exactly (no silently random
layers), and pickle files (``.bin``, ``.pt``, ...) are refused instead of unpickled. Saved
files get the permissions of any new file (not the owner-only ones safetensors gives its
temporary files), and the README.md model card says what the model is and how to load it.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import safetensors.torch
from huggingface_hub import ModelCard, PyTorchModelHubMixin, constants, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
)
from huggingface_hub.utils import validate_repo_id
from safetensors import SafetensorError

from .atomic import atomic_path, new_file_mode
from .errors import CheckpointError
from .model_card import model_card_text
from .model_config import check_config, read_config
from .weights_check import check_size, check_weights_file, skeleton

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
CONVERT_HINT = (
    "pickle files can run arbitrary code when loaded, so pyramidrefine never opens them. "
    'If you trust the file, convert it once: python -c "import torch, safetensors.torch as s; '
    "s.save_file(torch.load('FILE', weights_only=True), 'model.safetensors')\""
)


class SafeHubMixin(PyTorchModelHubMixin):
    """``save_pretrained`` / ``from_pretrained`` with safetensors only, strict and atomic."""

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> Any:
        """Write ``config.json``, ``model.safetensors`` and a README.md model card atomically."""
        card_kwargs = {
            "location": str(save_directory),
            **(kwargs.pop("model_card_kwargs", None) or {}),
        }
        with atomic_path(save_directory, directory=True) as temporary:
            result = super().save_pretrained(temporary, model_card_kwargs=card_kwargs, **kwargs)
            for path in temporary.iterdir():
                path.chmod(new_file_mode(directory=path.is_dir()))
            return result

    def push_to_hub(self, repo_id: str, **kwargs: Any) -> Any:
        """Upload to the Hub as ``repo_id``; the model card names it in its loading example."""
        kwargs["model_card_kwargs"] = {
            "location": repo_id,
            **(kwargs.get("model_card_kwargs") or {}),
        }
        return super().push_to_hub(repo_id, **kwargs)

    def generate_model_card(self, *args: Any, location: str | None = None, **kwargs: Any):
        """The model card: what the model is, its configuration and how to load it."""
        config = dict(getattr(self, "_hub_mixin_config", None) or {})
        return ModelCard(model_card_text(self, config, location))

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any):
        """Load from a local folder or a Hub id (``owner/name`` or ``owner/name@revision``).

        ``config.json`` is data: it is read and checked (:mod:`pyramidrefine.model_config`)
        before anything is built, and the weights file's header before any weight is read
        (:mod:`pyramidrefine.weights_check`). Errors are one :class:`CheckpointError` line.
        """
        name = str(pretrained_model_name_or_path)
        source = Path(name).expanduser()
        if source.exists() or _looks_like_a_path(name):
            _check_model_folder(source)
            model_id, config_file = str(source), str(source / constants.CONFIG_NAME)
        else:
            model_id, revision = _hub_id_and_revision(name, kwargs.pop("revision", None))
            if revision is not None:
                kwargs["revision"] = revision
            config_file = _hub_file(model_id, constants.CONFIG_NAME, kwargs)
        parameters = constructor_parameters(cls)
        config = check_config(read_config(config_file, name), name, parameters)
        hub = {key: kwargs.pop(key) for key in list(kwargs) if key in _HUB_ARGUMENTS}
        return cls._from_pretrained(model_id=model_id, **hub, **{**config, **kwargs})

    @classmethod
    def _from_pretrained(
        cls, *, model_id: str, map_location: str = "cpu", strict: bool = True, **kwargs: Any
    ):
        model_kwargs = {k: v for k, v in kwargs.items() if k not in _HUB_ARGUMENTS}
        shape = _build(model_id, cls, lambda: skeleton(lambda: cls(**model_kwargs)))
        check_size(shape, model_id)  # before fetching or reading any weight
        weights = _weights_file(model_id, kwargs)
        check_weights_file(shape, weights, model_id)
        model = _build(model_id, cls, lambda: cls(**model_kwargs))
        try:
            safetensors.torch.load_model(model, weights, strict=True, device=map_location)
        except (RuntimeError, SafetensorError) as error:
            first_line = str(error).strip().splitlines()[0]
            raise CheckpointError(
                f"{model_id}: model.safetensors does not fit the architecture in config.json "
                f"(another model, or missing/extra weights): {first_line}"
            ) from None
        return model.eval()


_HUB_ARGUMENTS = {
    "revision",
    "cache_dir",
    "force_download",
    "local_files_only",
    "token",
    "proxies",
    "resume_download",
}


def constructor_parameters(cls: type) -> list[str]:
    """The names of ``cls``'s constructor parameters (not ``self`` or ``**kwargs``): the
    keys a model folder's ``config.json`` may hold."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [p.name for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD]


def _looks_like_a_path(name: str) -> bool:
    """Anything but ``owner/name`` is a local path (so a typo fails at once, not after retries)."""
    return name.startswith((".", "/", "~")) or name.count("/") != 1


def _check_model_folder(folder: Path) -> None:
    if not folder.exists():
        raise CheckpointError(
            f"{folder}: no such model folder (a Hugging Face Hub id looks like owner/name)"
        )
    if not folder.is_dir():
        hint = f" {CONVERT_HINT}" if folder.suffix in PICKLE_SUFFIXES else ""
        raise CheckpointError(
            f"{folder}: a model is a folder with config.json and model.safetensors, "
            f"not a single file.{hint}"
        )
    if not (folder / constants.CONFIG_NAME).is_file():
        raise CheckpointError(f"{folder}: no config.json, so the architecture is unknown")
    if not (folder / constants.SAFETENSORS_SINGLE_FILE).is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        found = f"found {', '.join(pickles)}; {CONVERT_HINT}" if pickles else "nothing to load"
        raise CheckpointError(f"{folder}: no model.safetensors ({found})")


def _weights_file(model_id: str, hub_kwargs: dict[str, Any]) -> str:
    if os.path.isdir(model_id):
        return os.path.join(model_id, constants.SAFETENSORS_SINGLE_FILE)
    return _hub_file(model_id, constants.SAFETENSORS_SINGLE_FILE, hub_kwargs)


def _hub_id_and_revision(name: str, revision: str | None) -> tuple[str, str | None]:
    """``owner/name@rev`` -> (``owner/name``, ``rev``), like timm's ``hf-hub:`` names."""
    repo_id, at, tag = name.partition("@")
    if at and (not tag or (revision is not None and revision != tag)):
        raise CheckpointError(
            f"{name}: give the revision once, after @ (owner/name@revision) or as revision="
        )
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise CheckpointError(
            f"{name}: no such model folder, and not a Hugging Face Hub id (owner/name or "
            "owner/name@revision)"
        ) from None
    return repo_id, tag if at else revision


def _hub_file(model_id: str, filename: str, hub_kwargs: dict[str, Any]) -> str:
    """Path of ``filename`` of the Hub repository ``model_id`` (cached or downloaded)."""
    download = {
        k: hub_kwargs[k]
        for k in ("revision", "cache_dir", "force_download", "local_files_only", "token")
        if k in hub_kwargs
    }
    revision = download.get("revision")
    label = f"{model_id}@{revision}" if revision else model_id  # what was asked for
    try:
        return hf_hub_download(repo_id=model_id, filename=filename, **download)
    except (EntryNotFoundError, HfHubHTTPError) as error:
        if isinstance(error, EntryNotFoundError) and not isinstance(
            error, LocalEntryNotFoundError
        ):  # the repository answered: it has no such file
            hint = f"; {CONVERT_HINT}" if filename == constants.SAFETENSORS_SINGLE_FILE else ""
            raise CheckpointError(f"{label}: the Hub repository has no {filename}{hint}") from None
        raise CheckpointError(
            f"{label}: not a local model folder, and the Hub could not provide it "
            f"({type(error).__name__}); check the name or your connection"
        ) from None


def _build(model_id: str, cls: type, build: Callable[[], Any]) -> Any:
    """``build()``; anything the config makes the constructor raise is a config problem."""
    try:
        return build()
    except CheckpointError:
        raise
    except Exception as error:  # a config is data: any failure it causes is its own
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CheckpointError(
            f"{model_id}: config.json does not describe a {cls.__name__}: {first_line}"
        ) from None
