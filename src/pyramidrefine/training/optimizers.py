"""Adam with a constant or cosine learning-rate schedule after a linear warm-up."""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import OptimConfig


def adam_with_schedule(
    module: nn.Module, lr: float, optim: OptimConfig, max_steps: int
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.LambdaLR]:
    """Adam over ``module``'s parameters at ``lr`` and its schedule (see :func:`lr_factor`)."""
    optimizer = torch.optim.Adam(
        module.parameters(), lr=lr, betas=optim.betas, weight_decay=optim.weight_decay
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, optim, max_steps)
    )
    return optimizer, schedule


def lr_factor(step: int, optim: OptimConfig, max_steps: int) -> float:
    """The factor of the learning rate at ``step``: warm-up, then constant or cosine to 0."""
    if step < optim.warmup_steps:
        return (step + 1) / optim.warmup_steps
    if optim.scheduler == "cosine":
        span = max(1, max_steps - optim.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - optim.warmup_steps) / span)))
    return 1.0
