"""The run folder (``output_dir``): its default name, whether a run may resume into it,
and starting it over.

A folder resumes only a run of the same experiment: its ``config.yaml`` may differ from the
new config in :data:`RESUMABLE_KEYS` alone (how long to train, how often to save, validate
and log, where the cache lives), never in the model, task, data, scheme, loss or optimizer.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .config import TrainConfig, load_config

RESUMABLE_KEYS = frozenset(
    {
        "output_dir",
        "resume",
        "max_steps",
        "max_minutes",
        "checkpoint_every",
        "keep_checkpoints",
        "validate_every",
        "log_every",
        "data.num_workers",
        "data.val_max_images",
        "data.val_max_side",
        "data.cache_dir",
    }
)
# What a run writes besides its image cache (kept: it is keyed by its sources and size).
RUN_OUTPUTS = ("checkpoints", "metrics.csv", "samples", "model", "pyramidrefine", "config.yaml")
_SHOWN_DIFFERENCES = 4
_SHOWN_VALUE_CHARS = 40


def default_output_dir(task: str, now: datetime | None = None, root: Path = Path("runs")) -> str:
    """A new folder ``runs/<task>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``… if taken)."""
    stem = f"{task}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}"
    candidate, number = root / stem, 1
    while candidate.exists():
        number += 1
        candidate = root / f"{stem}-{number}"
    return str(candidate)


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest complete checkpoint that ``checkpoint_dir/latest`` names, if any."""
    pointer = checkpoint_dir / "latest"
    if not pointer.exists():
        return None
    path = checkpoint_dir / pointer.read_text().strip()
    return path if path.is_dir() else None


def check_resumable(config: TrainConfig) -> None:
    """Refuse to resume the run in ``config.output_dir`` if it is another experiment."""
    folder = Path(config.output_dir)
    saved = folder / "config.yaml"
    if not config.resume or not saved.is_file() or not latest_checkpoint(folder / "checkpoints"):
        return
    restart = "pass --fresh (resume=false) to start it over, or choose another output_dir"
    try:
        previous = load_config(saved)
    except ConfigurationError as error:
        raise ConfigurationError(
            f"{folder} holds a run whose config.yaml cannot be read ({error}); {restart}"
        ) from None
    differences = changed_keys(previous.to_dict(), config.to_dict())
    if differences:
        shown = "; ".join(
            f"{key}: {_short(old)} -> {_short(new)}"
            for key, old, new in differences[:_SHOWN_DIFFERENCES]
        )
        more = len(differences) - _SHOWN_DIFFERENCES
        shown += f"; and {more} more" if more > 0 else ""
        raise ConfigurationError(
            f"{folder} holds a run with another config ({shown}); resume it with its own "
            f"config ({saved}), {restart}"
        )


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` of every experiment key that differs."""
    before, after = _flat(old), _flat(new)
    return [
        (key, before.get(key), after.get(key))
        for key in sorted(before.keys() | after.keys())
        if key not in RESUMABLE_KEYS and before.get(key) != after.get(key)
    ]


def clear_run(folder: Path) -> None:
    """Delete what an earlier run wrote into ``folder`` (its image cache stays)."""
    for name in RUN_OUTPUTS:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 3] + "..."
