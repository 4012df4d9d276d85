"""Trainer on Hugging Face Accelerate: the training loop and its non-finite guard.

One script from this CPU to many GPUs (``accelerate launch``): mixed precision,
gradient accumulation, optional EMA of the generator, exact resume. The parts it puts
together each have their own module: the model (:mod:`.model`), the objective built from
the loss registry (:mod:`.objective`), the optimizers (:mod:`.optimizers`), checkpoints
(:mod:`.checkpointing`), validation and logs (:mod:`.validation`).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import math
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs, PartialState
from accelerate.utils import broadcast_object_list, set_seed
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..errors import TrainingError
from ..hardware import cpu_has_native_bf16, resolve_precision
from ..progress import Bar
from ..pyramid import CoarseToFine
from ..registry import create_task
from .checkpointing import Checkpoints, TrainingState
from .checks import check_config, check_training_memory
from .config import TrainConfig, save_config
from .data import build_datasets, training_loader
from .hints import hint_sampling, sample_guide
from .model import build_model
from .objective import (
    StepLosses,
    build_discriminator,
    build_objective,
    check_objective_fits,
    discriminator_loss,
    generator_loss,
)
from .optimizers import adam_with_schedule
from .run_folder import check_resumable, clear_run, default_output_dir
from .schemes import SchemeStep
from .validation import MetricsLog, Throughput, validate

logger = logging.getLogger(__name__)
MAX_NONFINITE_IN_A_ROW = 10
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


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
            not config.model.get("shared", True) or config.model.get("refiner") is not None
        )
        self.mixed_precision = accelerator_precision(config.mixed_precision)
        self.accelerator = Accelerator(
            mixed_precision=self.mixed_precision,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
            log_with="tensorboard" if importlib.util.find_spec("tensorboard") else None,
            project_dir=str(self.output_dir),
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
        )
        set_seed(config.seed)
        self.task = create_task(config.task, **config.task_kwargs)
        self.hints = hint_sampling(config, self.task)
        self.model = build_model(config, self.task)
        self.ema = (
            AveragedModel(
                self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
            )
            if config.ema_decay
            else None
        )
        self.gan_start = config.loss.gan_start(config.max_steps)
        adversarial = self.gan_start is not None
        self.discriminator = build_discriminator(config.loss, self.task) if adversarial else None
        check_training_memory(self.model, config, self.accelerator.device, self.discriminator)
        self.objective = build_objective(config.loss, adversarial)
        check_objective_fits(self.objective, self.model)
        self.state = TrainingState()
        self.checkpoints = Checkpoints(self.accelerator, self.output_dir, config.keep_checkpoints)
        self.metrics = MetricsLog(self.accelerator, self.output_dir)
        self.steps_run = 0  # steps of this fit (0 when the run was already complete)
        self.nonfinite_in_a_row = 0
        self.train_data, self.val_images = build_datasets(config, self.accelerator.device)
        self._prepare()

    def _prepare(self) -> None:
        accelerator, config = self.accelerator, self.config
        self.step_module = SchemeStep(self.model, config.scheme, config.max_steps)
        self.optimizer, self.scheduler = adam_with_schedule(
            self.model, config.optim.lr, config.optim, config.max_steps
        )
        self.step_module, self.optimizer, self.scheduler = accelerator.prepare(
            self.step_module, self.optimizer, self.scheduler
        )
        if self.discriminator is not None:
            self.d_optimizer, self.d_scheduler = adam_with_schedule(
                self.discriminator, config.optim.discriminator_lr, config.optim, config.max_steps
            )
            self.discriminator, self.d_optimizer, self.d_scheduler = accelerator.prepare(
                self.discriminator, self.d_optimizer, self.d_scheduler
            )
        accelerator.register_for_checkpointing(self.state)
        if self.ema is not None:
            self.ema.to(accelerator.device)
            accelerator.register_for_checkpointing(self.ema)

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint, if any."""
        return self.checkpoints.latest()

    def resume(self) -> bool:
        """Load the newest checkpoint if there is one; return whether one was loaded.

        Metrics logged after that checkpoint (all of them, without one) are dropped: the
        steps that logged them run again.
        """
        path = self.checkpoints.load_latest()
        self.metrics.truncate(after_step=self.state.step)
        return path is not None

    def save_checkpoint(self) -> Path:
        """Write the full training state atomically and export the model."""
        return self.checkpoints.save(
            self.state.step, lambda: self.export(self.output_dir / "model")
        )

    def export(self, directory: Path) -> None:
        """``model.safetensors`` + ``config.json`` of the generator (EMA weights if kept)."""
        self.inference_model().save_pretrained(directory)
        save_config(self.config, directory / "training.yaml")

    def inference_model(self) -> CoarseToFine:
        """The model to evaluate and export: the EMA copy if kept, else the live one."""
        return self.ema.module if self.ema is not None else self.model

    def fit(self) -> dict[str, float]:
        """Train (resuming if a checkpoint exists) until ``max_steps`` or ``max_minutes``;
        return the last validation metrics."""
        config, accelerator = self.config, self.accelerator
        minutes = config.max_minutes
        deadline = None if minutes is None else time.monotonic() + 60 * minutes
        if accelerator.is_main_process:
            if not config.resume:
                clear_run(self.output_dir)
            self.output_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, self.output_dir / "config.yaml")
            self.checkpoints.remove_partial_writes()
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
        meter = Throughput()
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
                parts = {**losses.parts, "images_per_s": meter.rate}
                self.metrics.log(parts, "train", self.state.step)
            last = self.state.step == config.max_steps or self._past(deadline)
            if self.state.step % config.validate_every == 0 or last:
                metrics = self.validate()
                meter.reset()
            if self.state.step % config.checkpoint_every == 0 or last:
                self.save_checkpoint()
                meter.reset()
            if last:
                break
        progress.close()
        accelerator.end_training()
        self.steps_run = self.state.step - first_step
        return metrics

    def _past(self, deadline: float | None) -> bool:
        """Whether any process is past the wall-clock ``deadline`` (all stop on one step)."""
        if deadline is None:
            return False
        late = torch.tensor([time.monotonic() >= deadline], device=self.accelerator.device)
        return bool(self.accelerator.gather(late).any())

    def training_step(self, rgb: torch.Tensor) -> StepLosses | None:
        """One micro-batch: discriminator update, then generator update. ``None`` if skipped."""
        accelerator, config = self.accelerator, self.config
        seed = (config.seed * 1_000_003 + self.state.step) * 64 + accelerator.process_index
        generator = torch.Generator().manual_seed(seed)
        inputs, targets = self.task.prepare(rgb, generator)  # e.g. noise, drawn from the seed
        guide = None if self.hints is None else sample_guide(targets, self.hints, generator)
        gan_on = self.discriminator is not None and self.state.step >= self.gan_start
        with accelerator.autocast():
            levels = self.step_module(inputs, targets, self.state.step, generator, guide)
        d_loss = None
        if gan_on:
            d_loss = discriminator_loss(self.objective, self.discriminator, levels[-1], accelerator)
            if not torch.isfinite(d_loss):
                return self._skip()
            accelerator.backward(d_loss)
            self.d_optimizer.step()
            self.d_scheduler.step()
            self.d_optimizer.zero_grad(set_to_none=True)
        judged = gan_on and self.state.step >= self.gan_start + config.loss.discriminator_warmup
        judge = self.discriminator if judged else None
        g_loss, parts = generator_loss(self.objective, levels, judge, accelerator)
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

    def validate(self) -> dict[str, float]:
        """Metrics on the validation images and a sample grid (main process only)."""
        if not self.accelerator.is_main_process or not self.val_images:
            return {}
        metrics = validate(
            self.inference_model(),
            self.val_images,
            self.task,
            self.output_dir / "samples" / f"step-{self.state.step:08d}.png",
            autocast_dtype=AUTOCAST_DTYPES.get(self.mixed_precision),
        )
        self.metrics.log(metrics, "val", self.state.step)
        return metrics

    def _checked(self, losses: StepLosses | None) -> StepLosses | None:
        """Count skipped (non-finite) steps; stop after too many in a row."""
        self.nonfinite_in_a_row = 0 if losses is not None else self.nonfinite_in_a_row + 1
        if self.nonfinite_in_a_row >= MAX_NONFINITE_IN_A_ROW:
            raise TrainingError(
                f"{self.nonfinite_in_a_row} steps in a row had non-finite losses or gradients; "
                "lower the learning rate or use mixed_precision=no"
            )
        return losses

    def _skip(self) -> None:
        self.state.skipped_nonfinite += 1
        self.optimizer.zero_grad(set_to_none=True)
        if self.discriminator is not None:
            self.d_optimizer.zero_grad(set_to_none=True)
        logger.warning("non-finite loss at step %d; step skipped", self.state.step)


def accelerator_precision(mixed_precision: str) -> str:
    """The Accelerator's ``mixed_precision`` for a config's: ``"auto"`` becomes ``"bf16"``
    where bf16 is fast on the device this process trains on (GPUs with bf16, CPUs with
    AVX512-BF16 or AMX), ``"no"`` elsewhere; ``"bf16"`` on a CPU without native bf16
    warns (it is emulated, many times slower)."""
    device = PartialState().device
    if mixed_precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            "mixed_precision bf16 on a CPU without native bf16 (AVX512-BF16/AMX) is emulated "
            "and many times slower than fp32; use mixed_precision auto or no",
            stacklevel=3,
        )
    if mixed_precision != "auto":
        return mixed_precision
    return "bf16" if resolve_precision("auto", device) == "bf16" else "no"


def _agreed_output_dir(config: TrainConfig) -> str:
    """``config.output_dir``, else a new run folder chosen once for every process."""
    if config.output_dir is not None:
        return config.output_dir
    chosen = [default_output_dir(config.task) if PartialState().is_main_process else None]
    return broadcast_object_list(chosen)[0]


def train(config: TrainConfig) -> dict[str, Any]:
    """Build a :class:`Trainer` and run it; return the last validation metrics."""
    return Trainer(config).fit()
