"""The objective of a run, built from the loss registry, and the losses of one step.

``loss.name`` picks the registered loss that builds the objective (``pix2pix`` by
default: :class:`~pyramidrefine.losses.Pix2PixObjective`); a loss of one's own is
registered with ``@register_loss("mine")`` and chosen with one config line,
``loss.name: mine``. An objective has ``generator_loss(prediction, target, fake_logits)``
returning ``(loss, {part: float})`` (given, when its signature names them, the level's
input as ``condition`` and a colour-class head's ``class_logits``) and, when a
discriminator is trained,
``discriminator_loss(real_logits, fake_logits)``.
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import torch
from accelerate import Accelerator
from torch import nn

from ..errors import ConfigurationError
from ..generators.colour_head import ColourClassHead
from ..registry import LOSSES, create_discriminator
from ..tasks.base import Task
from .config import LossConfig
from .schemes import LevelResult


class StepLosses(NamedTuple):
    """The losses of one optimizer step and their parts, as floats, for the logs."""

    generator: torch.Tensor
    discriminator: torch.Tensor | None
    parts: dict[str, float]


def build_objective(loss: LossConfig, adversarial: bool) -> Any:
    """``create_loss(loss.name, l1_weight=..., gan=..., **loss.kwargs)``, checked first.

    ``gan`` is ``loss.gan`` when a discriminator is trained (``adversarial``), else ``None``.
    """
    arguments = {"l1_weight": loss.l1_weight, "gan": loss.gan if adversarial else None}
    factory = LOSSES.get(loss.name)
    try:
        inspect.signature(factory).bind(**arguments, **loss.kwargs)
    except TypeError as error:
        raise ConfigurationError(
            f"loss.name={loss.name!r} cannot build a training objective ({error}): an "
            "objective takes l1_weight, gan and the keys of loss.kwargs"
        ) from None
    objective = factory(**arguments, **loss.kwargs)
    needed = ["generator_loss", *(["discriminator_loss"] if adversarial else [])]
    missing = [name for name in needed if not callable(getattr(objective, name, None))]
    if missing:
        raise ConfigurationError(
            f"loss.name={loss.name!r} builds a {type(objective).__name__}, which has no "
            f"{' or '.join(missing)}; name a training objective such as 'pix2pix'"
        )
    return objective


def check_objective_fits(objective: Any, model: nn.Module) -> None:
    """Refuse, before training, an objective that cannot train ``model``'s colour-class
    heads (``colour_bins``): its ``generator_loss`` must take ``class_logits``."""
    has_head = any(isinstance(module, ColourClassHead) for module in model.modules())
    if has_head and "class_logits" not in inspect.signature(objective.generator_loss).parameters:
        raise ConfigurationError(
            f"the model has a colour-class head (colour_bins), which a "
            f"{type(objective).__name__} does not train; use loss.name: colour_classes"
        )


def build_discriminator(loss: LossConfig, task: Task) -> nn.Module:
    """The discriminator ``loss.discriminator`` for ``task``'s channels."""
    return create_discriminator(
        loss.discriminator,
        in_channels=task.in_channels,
        out_channels=task.out_channels,
        **loss.discriminator_kwargs,
    )


def discriminator_loss(
    objective: Any, discriminator: nn.Module, final: LevelResult, accelerator: Accelerator
) -> torch.Tensor:
    """The discriminator's loss on the final level: the truth against the detached prediction."""
    with accelerator.autocast():
        real = discriminator(final.condition, final.target)
        fake = discriminator(final.condition, final.prediction.detach())
        return objective.discriminator_loss(real, fake)


def generator_loss(
    objective: Any,
    levels: list[LevelResult],
    discriminator: nn.Module | None,
    accelerator: Accelerator,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted sum of every level's loss and its parts (``level<k>_<part>`` when
    several levels are trained); the discriminator, if given, judges the final level."""
    total, parts = 0.0, {}
    takes_condition = "condition" in inspect.signature(objective.generator_loss).parameters
    for result in levels:
        fake_logits = None
        if discriminator is not None and result is levels[-1]:
            discriminator.requires_grad_(False)  # D is updated by its own loss only
            with accelerator.autocast():
                fake_logits = discriminator(result.condition, result.prediction)
            discriminator.requires_grad_(True)
        extra = {}
        if takes_condition:
            extra["condition"] = result.condition.float()
        if result.class_logits is not None:  # check_objective_fits let only such objectives by
            extra["class_logits"] = result.class_logits
        loss, level_parts = objective.generator_loss(
            result.prediction.float(), result.target.float(), fake_logits, **extra
        )
        total = total + result.weight * loss
        parts |= {
            f"level{result.level}_{k}" if len(levels) > 1 else k: v for k, v in level_parts.items()
        }
    parts["total"] = float(total.detach())
    return total, parts
