"""Trainer on Hugging Face Accelerate: cGAN objective, pyramid schemes, exact resume.

One script from this CPU to many GPUs (``accelerate launch``): mixed precision,
gradient accumulation, optional EMA of the generator, atomic checkpoints
(``accelerator.save_state`` into a temporary folder, then a rename) with an exported
``model.safetensors`` + ``config.json``, validation with sample grids, CSV and tracker logs.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any, NamedTuple

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs, PartialState
from accelerate.utils import broadcast_object_list, set_seed
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..atomic import write_text_atomic
from ..errors import PyramidRefineError
from ..evaluation import evaluate, save_comparison_grid
from ..losses import Pix2PixObjective
from ..pretrained import load_model
from ..progress import Bar
from ..pyramid import CoarseToFine
from ..registry import create_discriminator, create_task
from .checks import check_config, check_training_memory
from .config import TrainConfig, save_config
from .data import build_datasets, training_loader
from .run_folder import check_resumable, clear_run, default_output_dir, latest_checkpoint
from .schemes import LevelResult, pyramid_step

logger = logging.getLogger(__name__)
MAX_NONFINITE_IN_A_ROW = 10
METRICS_HEADER = ["step", "split", "name", "value"]


class TrainingError(PyramidRefineError, RuntimeError):
    """Training cannot go on (diverged, no data)."""


class TrainingState:
    """Counters saved with every checkpoint."""

    def __init__(self) -> None:
        self.step = 0
        self.skipped_nonfinite = 0

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step, "skipped_nonfinite": self.skipped_nonfinite}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.step, self.skipped_nonfinite = state["step"], state["skipped_nonfinite"]


class _SchemeStep(nn.Module):
    """The scheme as a module, so that DDP sees the generator's forward."""

    def __init__(self, model: CoarseToFine, config: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config

    def forward(
        self, inputs: torch.Tensor, targets: torch.Tensor, step: int, generator: torch.Generator
    ) -> list[LevelResult]:
        return pyramid_step(
            self.model,
            inputs,
            targets,
            self.config.scheme,
            step=step,
            max_steps=self.config.max_steps,
            generator=generator,
        )


class _Throughput:
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


class StepLosses(NamedTuple):
    generator: torch.Tensor
    discriminator: torch.Tensor | None
    parts: dict[str, float]


class Trainer:
    """Train a ``CoarseToFine`` on a task from a :class:`TrainConfig`.

    The config is checked before anything is built (values, data, whether its
    ``output_dir`` may be resumed), the memory a step needs before any data is loaded.
    """

    def __init__(self, config: TrainConfig) -> None:
        check_config(config)
        config = dataclasses.replace(config, output_dir=_agreed_output_dir(config))
        check_resumable(config)
        self.config = config
        self.output_dir = Path(config.output_dir)
        self.checkpoint_dir = self.output_dir / "checkpoints"
        find_unused = config.scheme.name == "per_level" and (
            not config.model.shared or config.model.refiner is not None
        )
        self.accelerator = Accelerator(
            mixed_precision=config.mixed_precision,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
            log_with="tensorboard" if importlib.util.find_spec("tensorboard") else None,
            project_dir=str(self.output_dir),
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
        )
        set_seed(config.seed)
        self.task = create_task(config.task, **config.task_kwargs)
        self.model = self._build_model()
        self.ema = (
            AveragedModel(
                self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
            )
            if config.ema_decay
            else None
        )
        self.gan_start = config.loss.gan_start(config.max_steps)
        self.discriminator = (
            create_discriminator(
                config.loss.discriminator,
                in_channels=self.task.in_channels,
                out_channels=self.task.out_channels,
                **config.loss.discriminator_kwargs,
            )
            if self.gan_start is not None
            else None
        )
        check_training_memory(self.model, config, self.accelerator.device, self.discriminator)
        self.objective = Pix2PixObjective(
            l1_weight=config.loss.l1_weight, gan=config.loss.gan if self.discriminator else None
        )
        self.state = TrainingState()
        self.steps_run = 0  # steps of this fit (0 when the run was already complete)
        self._nonfinite_in_a_row = 0
        self.train_data, self.val_images = build_datasets(config, self.accelerator.device)
        self._prepare()

    def _build_model(self) -> CoarseToFine:
        model_config = self.config.model
        model = CoarseToFine(
            model_config.generator,
            in_channels=self.task.in_channels,
            out_channels=self.task.out_channels,
            levels=model_config.levels,
            base_size=None if model_config.levels else model_config.base_size,
            shared=model_config.shared,
            refiner=model_config.refiner,
            refinement=model_config.refinement,
            **model_config.generator_kwargs,
        )
        if model_config.init_from:
            _load_weights(model, model_config.init_from)
        if self.config.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return model

    def _optimizer(self, module: nn.Module, lr: float):
        optim = self.config.optim
        optimizer = torch.optim.Adam(
            module.parameters(), lr=lr, betas=optim.betas, weight_decay=optim.weight_decay
        )
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)

    def _lr_factor(self, step: int) -> float:
        optim = self.config.optim
        if step < optim.warmup_steps:
            return (step + 1) / optim.warmup_steps
        if optim.scheduler == "cosine":
            span = max(1, self.config.max_steps - optim.warmup_steps)
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - optim.warmup_steps) / span)))
        return 1.0

    def _prepare(self) -> None:
        accelerator = self.accelerator
        self.step_module = _SchemeStep(self.model, self.config)
        self.optimizer, self.scheduler = self._optimizer(self.model, self.config.optim.lr)
        self.step_module, self.optimizer, self.scheduler = accelerator.prepare(
            self.step_module, self.optimizer, self.scheduler
        )
        if self.discriminator is not None:
            self.d_optimizer, self.d_scheduler = self._optimizer(
                self.discriminator, self.config.optim.discriminator_lr
            )
            self.discriminator, self.d_optimizer, self.d_scheduler = accelerator.prepare(
                self.discriminator, self.d_optimizer, self.d_scheduler
            )
        accelerator.register_for_checkpointing(self.state)
        if self.ema is not None:
            self.ema.to(accelerator.device)
            accelerator.register_for_checkpointing(self.ema)

    # -- checkpoints ---------------------------------------------------------------------

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint, if any."""
        return latest_checkpoint(self.checkpoint_dir)

    def resume(self) -> bool:
        """Load the newest checkpoint if there is one; return whether one was loaded.

        Metrics logged after that checkpoint (all of them, without one) are dropped: the
        steps that logged them run again.
        """
        path = self.latest_checkpoint()
        if path is not None:
            self.accelerator.load_state(str(path))
            logger.info("resumed from %s at step %d", path, self.state.step)
        self._truncate_metrics(after_step=self.state.step)
        return path is not None

    def save_checkpoint(self) -> Path:
        """Write the full training state atomically and export the model."""
        name = f"step-{self.state.step:08d}"
        target = self.checkpoint_dir / name
        if self.accelerator.is_main_process:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.checkpoint_dir / f".{name}.tmp"
        if self.accelerator.is_main_process:
            shutil.rmtree(temporary, ignore_errors=True)  # left by a run killed mid-save
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(temporary))
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            shutil.rmtree(target, ignore_errors=True)
            temporary.rename(target)
            write_text_atomic(self.checkpoint_dir / "latest", name)
            self._prune_checkpoints()
            self.export(self.output_dir / "model")
        return target

    def export(self, directory: Path) -> None:
        """``model.safetensors`` + ``config.json`` of the generator (EMA weights if kept)."""
        self.inference_model().save_pretrained(directory)
        save_config(self.config, directory / "training.yaml")

    def inference_model(self) -> CoarseToFine:
        """The model to evaluate and export: the EMA copy if kept, else the live one."""
        return self.ema.module if self.ema is not None else self.model

    def _prune_checkpoints(self) -> None:
        for stale in sorted(self.checkpoint_dir.glob("step-*"))[: -self.config.keep_checkpoints]:
            shutil.rmtree(stale, ignore_errors=True)
        self._remove_partial_writes()

    def _remove_partial_writes(self) -> None:
        """Delete temporary folders that a killed run left half-written."""
        leftovers = [*self.checkpoint_dir.glob(".step-*.tmp"), *self.output_dir.glob(".model.*")]
        for leftover in leftovers:
            shutil.rmtree(leftover, ignore_errors=True)

    # -- training ------------------------------------------------------------------------

    def fit(self) -> dict[str, float]:
        """Train (resuming if a checkpoint exists) until ``max_steps``; return last metrics."""
        config, accelerator = self.config, self.accelerator
        if accelerator.is_main_process:
            if not config.resume:
                clear_run(self.output_dir)
            self.output_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, self.output_dir / "config.yaml")
            self._remove_partial_writes()
        accelerator.wait_for_everyone()
        self.resume()
        first_step = self.state.step
        accelerator.init_trackers("pyramidrefine")
        loader = training_loader(
            self.train_data,
            config,
            start_batch=self.state.step * config.gradient_accumulation_steps,
            process_index=accelerator.process_index,
            num_processes=accelerator.num_processes,
        )
        progress = Bar(
            config.max_steps,
            "train",
            unit="step",
            initial=self.state.step,
            enabled=accelerator.is_main_process,
        )
        metrics: dict[str, float] = {}
        meter = _Throughput()
        for rgb in loader:
            if self.state.step >= config.max_steps:
                break
            with accelerator.accumulate(self.step_module):
                losses = self._checked(self.training_step(rgb.to(accelerator.device)))
            meter.add(rgb.shape[0] * accelerator.num_processes)
            if losses is None or not accelerator.sync_gradients:
                continue
            self.state.step += 1
            if self.ema is not None:
                self.ema.update_parameters(self.model)
            progress.update(note=f"loss={losses.parts['total']:.3f}, img_s={meter.rate:.1f}")
            if self.state.step % config.log_every == 0:
                self._log({**losses.parts, "images_per_s": meter.rate}, "train")
            last = self.state.step == config.max_steps
            if self.state.step % config.validate_every == 0 or last:
                metrics = self.validate()
                meter.reset()
            if self.state.step % config.checkpoint_every == 0 or last:
                self.save_checkpoint()
                meter.reset()
        progress.close()
        accelerator.end_training()
        self.steps_run = self.state.step - first_step
        return metrics

    def training_step(self, rgb: torch.Tensor) -> StepLosses | None:
        """One micro-batch: discriminator update, then generator update. ``None`` if skipped."""
        accelerator, config = self.accelerator, self.config
        seed = (config.seed * 1_000_003 + self.state.step) * 64 + accelerator.process_index
        generator = torch.Generator().manual_seed(seed)
        inputs, targets = self.task.prepare(rgb, generator)  # e.g. noise, drawn from the seed
        gan_on = self.discriminator is not None and self.state.step >= self.gan_start
        with accelerator.autocast():
            levels = self.step_module(inputs, targets, self.state.step, generator)
        final = levels[-1]
        d_loss = None
        if gan_on:
            with accelerator.autocast():
                real = self.discriminator(final.condition, final.target)
                fake = self.discriminator(final.condition, final.prediction.detach())
                d_loss = self.objective.discriminator_loss(real, fake)
            if not torch.isfinite(d_loss):
                return self._skip()
            accelerator.backward(d_loss)
            self.d_optimizer.step()
            self.d_scheduler.step()
            self.d_optimizer.zero_grad(set_to_none=True)
        g_loss, parts = self._generator_loss(levels, gan_on)
        if not torch.isfinite(g_loss):
            return self._skip()
        accelerator.backward(g_loss)
        if accelerator.sync_gradients:
            norm = accelerator.clip_grad_norm_(
                self.model.parameters(), config.optim.max_grad_norm or math.inf
            )
            # fp16's gradient scaler handles overflow itself; elsewhere skip the step.
            if config.mixed_precision != "fp16" and not torch.isfinite(norm):
                return self._skip()
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if d_loss is not None:
            parts["discriminator"] = float(d_loss.detach())
        return StepLosses(g_loss, d_loss, parts)

    def _checked(self, losses: StepLosses | None) -> StepLosses | None:
        """Count skipped (non-finite) steps; stop after too many in a row."""
        self._nonfinite_in_a_row = 0 if losses is not None else self._nonfinite_in_a_row + 1
        if self._nonfinite_in_a_row >= MAX_NONFINITE_IN_A_ROW:
            raise TrainingError(
                f"{self._nonfinite_in_a_row} steps in a row had non-finite losses or gradients; "
                "lower the learning rate or use mixed_precision=no"
            )
        return losses

    def _generator_loss(self, levels: list[LevelResult], gan_on: bool):
        total, parts = 0.0, {}
        for result in levels:
            fake_logits = None
            if gan_on and result is levels[-1]:
                self.discriminator.requires_grad_(False)  # D is updated by its own loss only
                with self.accelerator.autocast():
                    fake_logits = self.discriminator(result.condition, result.prediction)
                self.discriminator.requires_grad_(True)
            loss, level_parts = self.objective.generator_loss(
                result.prediction.float(), result.target.float(), fake_logits
            )
            total = total + result.weight * loss
            parts |= {
                f"level{result.level}_{k}" if len(levels) > 1 else k: v
                for k, v in level_parts.items()
            }
        parts["total"] = float(total.detach())
        return total, parts

    def _skip(self) -> None:
        self.state.skipped_nonfinite += 1
        self.optimizer.zero_grad(set_to_none=True)
        if self.discriminator is not None:
            self.d_optimizer.zero_grad(set_to_none=True)
        logger.warning("non-finite loss at step %d; step skipped", self.state.step)

    # -- validation and logging ----------------------------------------------------------

    def validate(self) -> dict[str, float]:
        """Metrics on the validation images and a sample grid (main process only)."""
        if not self.accelerator.is_main_process or not self.val_images:
            return {}
        model = self.inference_model()
        model.eval()
        metrics = evaluate(model, self.val_images, self.task, autocast_dtype=self._autocast_dtype())
        save_comparison_grid(
            model,
            self.val_images[:4],
            self.output_dir / "samples" / f"step-{self.state.step:08d}.png",
            task=self.task,
        )
        model.train()
        self._log(metrics, "val")
        return metrics

    def _autocast_dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.config.mixed_precision)

    def _log(self, values: dict[str, float], split: str) -> None:
        if not self.accelerator.is_main_process:
            return
        path = self.output_dir / "metrics.csv"
        new = not path.exists()
        with path.open("a", newline="") as file:
            writer = csv.writer(file)
            if new:
                writer.writerow(METRICS_HEADER)
            writer.writerows([self.state.step, split, k, f"{v:.6g}"] for k, v in values.items())
        self.accelerator.log({f"{split}/{k}": v for k, v in values.items()}, step=self.state.step)

    def _truncate_metrics(self, after_step: int) -> None:
        path = self.output_dir / "metrics.csv"
        if not self.accelerator.is_main_process or not path.exists():
            return
        with path.open(newline="") as file:
            rows = list(csv.reader(file))
        # A run killed while logging may have left a partial last row.
        kept = [r for r in rows[1:] if len(r) == 4 and r[0].isdigit() and int(r[0]) <= after_step]
        text = "".join(",".join(r) + "\n" for r in [METRICS_HEADER, *kept])
        write_text_atomic(path, text)


def _load_weights(model: CoarseToFine, source: str) -> None:
    """Copy the weights of the saved model ``source`` (a folder, Hub id or shipped model's
    name such as ``default``) into ``model`` (same architecture)."""
    weights = load_model(source).state_dict()
    try:
        model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True)
    except RuntimeError as error:
        first_line = str(error).splitlines()[0]
        raise TrainingError(
            f"model.init_from={source}: its weights do not fit the configured model "
            f"({first_line}); configure the same generator and generator_kwargs"
        ) from None


def _agreed_output_dir(config: TrainConfig) -> str:
    """``config.output_dir``, else a new run folder chosen once for every process."""
    if config.output_dir is not None:
        return config.output_dir
    chosen = [default_output_dir(config.task) if PartialState().is_main_process else None]
    return broadcast_object_list(chosen)[0]


def train(config: TrainConfig) -> dict[str, Any]:
    """Build a :class:`Trainer` and run it; return the last validation metrics."""
    return Trainer(config).fit()
