"""Models by name: the colorizer shipped with the package, local folders and Hub ids.

``list_models()`` names the models that ship with pyramidrefine (timm's spirit: wildcard
filters, ``pretrained=True`` for those whose weights are installed), ``model_info`` says
what each is, and ``load_model`` / ``load_colorizer`` take a name, a folder written by
``save_pretrained`` or a Hugging Face Hub id. An existing local folder wins over a name.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import yaml

from .errors import CheckpointError, ConfigurationError, UnknownNameError
from .pyramid import CoarseToFine

if TYPE_CHECKING:
    from .tasks import Task

MODEL_FILES = ("config.json", "model.safetensors")
DEFAULT_MODEL = "colorizer"
ALIASES = {"default": DEFAULT_MODEL}
TRAINING_FILE = "training.yaml"
MAX_TRAINING_FILE_BYTES = 1 << 20  # a model folder is data: read no more than this


@dataclass(frozen=True)
class ModelInfo:
    """What a named model is: its task, where its files are and a one-line description."""

    name: str
    task: str
    path: Path
    description: str

    @property
    def installed(self) -> bool:
        """Whether the weights are present (``config.json`` + ``model.safetensors``)."""
        return all((self.path / name).is_file() for name in MODEL_FILES)

    @property
    def size_bytes(self) -> int | None:
        """Size of the weights file, or ``None`` when it is not installed."""
        weights = self.path / "model.safetensors"
        return weights.stat().st_size if weights.is_file() else None


def default_colorizer_dir() -> Path:
    """Folder of the colorizer shipped inside the package (absent until weights are added)."""
    return package_dir() / "weights" / DEFAULT_MODEL


def package_dir() -> Path:
    """The installed ``pyramidrefine`` package folder (nothing may be written into it)."""
    return Path(str(resources.files(__package__)))


def _shipped() -> dict[str, ModelInfo]:
    return {
        DEFAULT_MODEL: ModelInfo(
            DEFAULT_MODEL,
            "colorization",
            default_colorizer_dir(),
            "the default colorizer: CoarseToFine over an EfficientNet-Lite0 U-Net, "
            "grey photos of any size to colour (docs/model-card.md)",
        )
    }


def list_models(filter: str | list[str] = "*", *, pretrained: bool = False) -> list[str]:
    """Sorted names of the shipped models matching one or several shell-style wildcards.

    ``pretrained=True`` keeps those whose weights are installed. ``default`` is an alias
    of the default colorizer, :data:`DEFAULT_MODEL`.
    """
    patterns = [filter] if isinstance(filter, str) else list(filter)
    return sorted(
        name
        for name, info in _shipped().items()
        if any(fnmatch.fnmatch(name, p) for p in patterns) and (info.installed or not pretrained)
    )


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a shipped model (or alias); unknown names list the known."""
    shipped = _shipped()
    info = shipped.get(ALIASES.get(name, name))
    if info is None:
        known = ", ".join([*shipped, *ALIASES])
        raise ConfigurationError(f"no shipped model named {name!r}; known: {known}")
    return info


def resolve_model(name_or_path: str | os.PathLike) -> str | Path:
    """The folder of a shipped model's name; a local path or Hub id is returned as given.

    An existing local path wins over a name. A name whose weights are not installed is a
    :class:`~pyramidrefine.errors.ConfigurationError`.
    """
    text = os.fspath(name_or_path)
    name = ALIASES.get(text, text)
    if Path(text).expanduser().exists() or name not in _shipped():
        return name_or_path
    info = model_info(name)
    if not info.installed:
        raise ConfigurationError(
            f"the {'default ' if name == DEFAULT_MODEL else ''}{name} weights are not installed "
            f"({info.path} lacks "
            f"{' + '.join(MODEL_FILES)}); pass model= (CLI: --model) a folder written "
            "by save_pretrained or a Hugging Face Hub id"
        )
    return info.path


def is_packaged(path: str | os.PathLike) -> bool:
    """Whether ``path`` lies inside the installed package folder."""
    return Path(path).expanduser().resolve().is_relative_to(package_dir().resolve())


def load_model(
    name_or_path: str | os.PathLike = "default", *, device: str | torch.device | None = None
) -> CoarseToFine:
    """Load a model in eval mode (on ``device`` if given): a name from :func:`list_models`
    (``"default"``: the shipped colorizer), a folder written by ``save_pretrained`` or a
    Hugging Face Hub id (errors: :class:`~pyramidrefine.errors.CheckpointError`)."""
    model = CoarseToFine.from_pretrained(resolve_model(name_or_path))
    return (model.to(device) if device is not None else model).eval()


def load_colorizer(
    name_or_path: str | os.PathLike | None = None, *, device: str | torch.device | None = None
) -> CoarseToFine:
    """Load a colorizer in eval mode (on ``device`` if given).

    ``None`` loads the default model shipped in ``pyramidrefine/weights/colorizer``;
    otherwise as :func:`load_model`.
    """
    return load_model("default" if name_or_path is None else name_or_path, device=device)


def model_task(name_or_path: str | os.PathLike, task: str | None = None) -> Task:
    """The task ``task`` names, else the one a model was trained on (with its settings).

    A shipped model knows its task; a local folder holds it in ``training.yaml`` (only its
    ``task`` and ``task_kwargs`` are read); anything else is taken to be a colorizer.
    """
    from .model_config import SCALARS, check_factory_kwargs, named_parameters
    from .registry import TASKS, create_task

    if task is not None:
        return create_task(task)
    text = os.fspath(name_or_path)
    if not Path(text).expanduser().exists() and ALIASES.get(text, text) in _shipped():
        return create_task(model_info(text).task)
    path = Path(text).expanduser() / TRAINING_FILE
    settings = _training_settings(path)
    name = settings.get("task", "colorization")
    try:
        factory = TASKS.get(name)
    except UnknownNameError as error:
        raise UnknownNameError(
            f"{text} was trained on the task {repr(name)[:80]}, which is not registered here; "
            f"import the file or module that registers it first (CLI: --import FILE; Python: "
            f"pyramidrefine.load_module). {error}"
        ) from None
    kwargs = settings.get("task_kwargs", {})
    try:  # a model folder is data: only the task's own named settings, as plain values
        check_factory_kwargs(f"the {name!r} task", kwargs, named_parameters(factory, SCALARS))
        return factory(**kwargs)
    except (TypeError, ValueError) as error:  # ConfigurationError is a ValueError
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path}: task_kwargs cannot set up the task: {first}") from None


def _training_settings(path: Path) -> dict[str, Any]:
    """``task`` and ``task_kwargs`` of a model's ``training.yaml`` (empty if it has none)."""
    if not path.is_file():
        return {}
    if path.stat().st_size > MAX_TRAINING_FILE_BYTES:
        raise CheckpointError(f"{path}: over {MAX_TRAINING_FILE_BYTES} bytes; not a config")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path}: cannot read the config ({first})") from None
    task = values.get("task", "colorization") if isinstance(values, dict) else None
    kwargs = values.get("task_kwargs") or {} if isinstance(values, dict) else None
    if not isinstance(task, str) or not isinstance(kwargs, dict):
        raise CheckpointError(f"{path}: task must be a name and task_kwargs a mapping")
    return {"task": task, "task_kwargs": kwargs}
