"""Hints sampled from the truth, so that a model with guide channels learns to follow them.

``data.hints: {mean_count: 8, none_fraction: 0.125, max_patch: 5}`` turns it on: each
training sample gets no hint with probability ``none_fraction``, else a geometric number
of hints of mean ``mean_count`` (Zhang et al., 2017, "Real-Time User-Guided Image
Colorization"), each a square patch of 1 to ``max_patch`` pixels at a uniform place,
holding the patch's mean true target (ab for colorization). The guide is the target's
channels and a mask, at the training crop's size (:mod:`pyramidrefine.guides`); the
scheme gives every level its own size of it and crops cut it as they cut the input.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ConfigurationError
from ..hints import MAX_HINTS, MAX_PATCH
from ..tasks.base import Task
from .config import TrainConfig


@dataclass(frozen=True)
class HintSampling:
    """How many hints a training sample gets, and how large (see the module)."""

    mean_count: float = 8.0
    none_fraction: float = 0.125
    max_patch: int = 5

    def __post_init__(self) -> None:
        checks = [
            ("mean_count", _is_number(self.mean_count) and 1 <= self.mean_count <= MAX_HINTS,
             f"a number from 1 to {MAX_HINTS} (the mean count of a hinted sample)"),
            ("none_fraction", _is_number(self.none_fraction) and 0 <= self.none_fraction <= 1,
             "a fraction from 0 to 1 (of samples without hints)"),
            ("max_patch", _is_int(self.max_patch) and 1 <= self.max_patch <= MAX_PATCH,
             f"an integer from 1 to {MAX_PATCH} (pixels)"),
        ]  # fmt: skip
        for name, valid, requirement in checks:
            if not valid:
                raise ConfigurationError(
                    f"data.hints.{name}={getattr(self, name)!r} must be {requirement}"
                )


def parse_hint_sampling(values: Any) -> HintSampling | None:
    """The ``data.hints`` section, checked (``None``: no hints)."""
    if values is None:
        return None
    if not isinstance(values, dict):
        raise ConfigurationError(
            f"data.hints must be a mapping such as {{mean_count: 8, none_fraction: 0.125, "
            f"max_patch: 5}} (or null: no hints), got {values!r}"
        )
    known = {field.name for field in dataclasses.fields(HintSampling)}
    if unknown := sorted(set(values) - known):
        raise ConfigurationError(f"unknown key(s) {unknown} in data.hints; known: {sorted(known)}")
    return HintSampling(**values)


def hint_sampling(config: TrainConfig, task: Task) -> HintSampling | None:
    """``config.data.hints`` checked against the model it trains (``None``: no hints).

    The model must take a guide of the task's target channels and a mask
    (``model.guide_channels``); a model with guide channels may also train without hints.
    """
    sampling = parse_hint_sampling(config.data.hints)
    if sampling is None:
        return None
    expected = task.out_channels + 1
    if config.model.get("guide_channels", 0) != expected:
        raise ConfigurationError(
            f"data.hints needs a model with a guide of {expected} channels (the "
            f"{task.out_channels} target channels and a mask): set model.guide_channels="
            f"{expected} (with model.init_from, a guide-free model is widened for it)"
        )
    return sampling


def sample_guide(
    targets: torch.Tensor, sampling: HintSampling, generator: torch.Generator
) -> torch.Tensor:
    """A ``B×(C+1)×H×W`` guide of hints drawn from ``targets`` (``B×C×H×W``): per sample,
    the patches' mean targets and a mask of 1 where a patch lies. Draws from
    ``generator`` (CPU) only, so training stays reproducible."""
    batch, channels, height, width = targets.shape
    guide = targets.new_zeros(batch, channels + 1, height, width)
    for sample in range(batch):
        if float(torch.rand((), generator=generator)) < sampling.none_fraction:
            continue
        for _ in range(_geometric_count(sampling.mean_count, generator)):
            side = min(_draw(1, sampling.max_patch, generator), height, width)
            top, left = _draw(0, height - side, generator), _draw(0, width - side, generator)
            rows, cols = slice(top, top + side), slice(left, left + side)
            mean = targets[sample, :, rows, cols].mean(dim=(1, 2))
            guide[sample, :channels, rows, cols] = mean[:, None, None]
            guide[sample, channels, rows, cols] = 1.0
    return guide


def _geometric_count(mean: float, generator: torch.Generator) -> int:
    """A geometric count on 1, 2, ... of mean ``mean`` (at most :data:`MAX_HINTS`)."""
    if mean <= 1:
        return 1
    uniform = float(torch.rand((), generator=generator))
    count = 1 + math.floor(math.log1p(-uniform) / math.log1p(-1 / mean))
    return min(count, MAX_HINTS)


def _draw(low: int, high: int, generator: torch.Generator) -> int:
    """A uniform integer in ``[low, high]``."""
    return int(torch.randint(low, high + 1, (1,), generator=generator))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))
