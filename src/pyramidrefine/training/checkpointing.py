"""A run's state on disk: the step counters and the atomic checkpoints of ``checkpoints/``.

A checkpoint is ``accelerator.save_state`` written into a temporary folder, then renamed
to ``step-<step>`` and named in ``checkpoints/latest``; a run killed mid-save leaves only
a temporary folder, which the next run deletes.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from accelerate import Accelerator

from ..atomic import temporaries_of, write_text_atomic
from .run_folder import latest_checkpoint

logger = logging.getLogger(__name__)


class TrainingState:
    """Counters saved with every checkpoint."""

    def __init__(self) -> None:
        self.step = 0
        self.skipped_nonfinite = 0

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step, "skipped_nonfinite": self.skipped_nonfinite}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.step, self.skipped_nonfinite = state["step"], state["skipped_nonfinite"]


class Checkpoints:
    """The checkpoints of the run in ``output_dir``: save, keep the newest few, load."""

    def __init__(self, accelerator: Accelerator, output_dir: Path, keep: int) -> None:
        self.accelerator = accelerator
        self.output_dir = output_dir
        self.folder = output_dir / "checkpoints"
        self.keep = keep

    def latest(self) -> Path | None:
        """The newest complete checkpoint, if any."""
        return latest_checkpoint(self.folder)

    def load_latest(self) -> Path | None:
        """Load the newest checkpoint into the registered objects; return it (or ``None``)."""
        path = self.latest()
        if path is not None:
            self.accelerator.load_state(str(path))
            logger.info("resumed from %s", path)
        return path

    def save(self, step: int, export: Callable[[], None]) -> Path:
        """Write the full training state of ``step`` atomically, then call ``export``
        (main process only)."""
        accelerator = self.accelerator
        name = f"step-{step:08d}"
        target = self.folder / name
        temporary = self.folder / f".{name}.tmp"
        if accelerator.is_main_process:
            self.folder.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(temporary, ignore_errors=True)  # left by a run killed mid-save
        accelerator.wait_for_everyone()
        accelerator.save_state(str(temporary))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            shutil.rmtree(target, ignore_errors=True)
            temporary.rename(target)
            write_text_atomic(self.folder / "latest", name)
            for stale in sorted(self.folder.glob("step-*"))[: -self.keep]:
                shutil.rmtree(stale, ignore_errors=True)
            self.remove_partial_writes()
            export()
        return target

    def remove_partial_writes(self) -> None:
        """Delete what a killed run left half-written: checkpoint and model folders, and
        the temporary of the ``latest`` pointer (called by the main process after its own
        pointer is in place, so any such temporary is a dead run's)."""
        leftovers = [*self.folder.glob(".step-*.tmp"), *self.output_dir.glob(".model.*")]
        for leftover in leftovers:
            shutil.rmtree(leftover, ignore_errors=True)
        for pointer in temporaries_of(self.folder / "latest"):
            pointer.unlink(missing_ok=True)
