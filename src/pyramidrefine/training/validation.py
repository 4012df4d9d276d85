"""Validation during training and the run's logs: ``metrics.csv``, trackers, throughput."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import torch
from accelerate import Accelerator

from ..atomic import write_text_atomic
from ..evaluation import evaluate, save_comparison_grid
from ..pyramid import CoarseToFine
from ..tasks.base import Task

METRICS_HEADER = ["step", "split", "name", "value"]
SAMPLE_IMAGES = 4  # validation images in each sample grid


class MetricsLog:
    """``step,split,name,value`` rows in ``output_dir/metrics.csv`` and the trackers
    (main process only)."""

    def __init__(self, accelerator: Accelerator, output_dir: Path) -> None:
        self.accelerator = accelerator
        self.path = output_dir / "metrics.csv"

    def log(self, values: dict[str, float], split: str, step: int) -> None:
        """Append ``values`` of ``split`` (``train``, ``val``) at ``step``."""
        if not self.accelerator.is_main_process:
            return
        new = not self.path.exists()
        with self.path.open("a", newline="") as file:
            writer = csv.writer(file)
            if new:
                writer.writerow(METRICS_HEADER)
            writer.writerows([step, split, k, f"{v:.6g}"] for k, v in values.items())
        self.accelerator.log({f"{split}/{k}": v for k, v in values.items()}, step=step)

    def truncate(self, after_step: int) -> None:
        """Drop the rows logged after ``after_step`` (the steps that will run again)."""
        if not self.accelerator.is_main_process or not self.path.exists():
            return
        with self.path.open(newline="") as file:
            rows = list(csv.reader(file))
        # A run killed while logging may have left a partial last row.
        kept = [r for r in rows[1:] if len(r) == 4 and r[0].isdigit() and int(r[0]) <= after_step]
        write_text_atomic(self.path, "".join(",".join(r) + "\n" for r in [METRICS_HEADER, *kept]))


class Throughput:
    """Images per second since the last reset (validation and checkpoints excluded)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.images, self.started = 0, time.perf_counter()

    def add(self, images: int) -> None:
        self.images += images

    @property
    def rate(self) -> float:
        return self.images / max(time.perf_counter() - self.started, 1e-9)


def validate(
    model: CoarseToFine,
    images: list[torch.Tensor],
    task: Task,
    grid: Path,
    autocast_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """The task's metrics of ``model`` on ``images`` and a sample grid written to ``grid``;
    the model is left in training mode."""
    model.eval()
    metrics = evaluate(model, images, task, autocast_dtype=autocast_dtype)
    save_comparison_grid(model, images[:SAMPLE_IMAGES], grid, task=task)
    model.train()
    return metrics
