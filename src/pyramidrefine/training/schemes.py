"""The pyramid training schemes: which levels run, with which prior, on which crop.

``unrolled`` runs every level in one graph; ``per_level`` trains one level per step with
a teacher-forced or self-fed prior. With ``crop_levels`` every level runs at the base size:
level 0 on the whole (downscaled) image, finer levels on aligned random crops nested
inside the coarser level's crop, with the prior cut from the upsampled coarser prediction.
A guide (e.g. hints) reaches every level at its size (:func:`~pyramidrefine.guides.sparse_resize`),
cut by the level's crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from ..errors import ConfigurationError
from ..guides import sparse_resize
from ..pyramid import CoarseToFine
from ..tiling import resize
from .config import SchemeConfig


class LevelResult(NamedTuple):
    """One supervised level: its input (the condition), prediction, target and weight, and
    the colour-class logits of its generator when it has a colour-class head."""

    level: int
    condition: torch.Tensor
    prediction: torch.Tensor
    target: torch.Tensor
    weight: float
    class_logits: torch.Tensor | None = None


@dataclass
class _Window:
    """A crop of one level: offsets and size in that level's pixels."""

    top: int
    left: int
    height: int
    width: int

    def cut(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., self.top : self.top + self.height, self.left : self.left + self.width]


def teacher_probability(config: SchemeConfig, step: int, max_steps: int) -> float:
    """Probability of a ground-truth prior at ``step`` under the configured feedback."""
    if config.feedback == "teacher":
        return 1.0
    if config.feedback == "self":
        return 0.0
    progress = min(1.0, step / max(1, max_steps))
    return config.teacher_start + (config.teacher_end - config.teacher_start) * progress


def pyramid_step(
    model: CoarseToFine,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    config: SchemeConfig,
    *,
    step: int,
    max_steps: int,
    generator: torch.Generator,
    guide: torch.Tensor | None = None,
) -> list[LevelResult]:
    """Run the configured scheme on a batch (and its ``guide`` at the batch's size, for a
    model with guide channels); return the levels that carry a loss."""
    sizes = model.level_sizes(*inputs.shape[-2:])
    windows = _crop_windows(sizes, generator) if config.crop_levels else None
    if config.name == "unrolled":
        last, weights = len(sizes) - 1, _level_weights(config, len(sizes))
        teacher_levels: set[int] = set()
    elif config.name == "per_level":
        last = int(torch.randint(len(sizes), (1,), generator=generator))
        teacher = float(torch.rand((), generator=generator)) < teacher_probability(
            config, step, max_steps
        )
        weights = [0.0] * last + [1.0]
        teacher_levels = {last} if teacher else set()
    else:
        raise ConfigurationError(f"unknown scheme {config.name!r}; use 'unrolled' or 'per_level'")
    return _walk(
        model,
        inputs,
        targets,
        sizes,
        windows,
        last=last,
        weights=weights,
        teacher_levels=teacher_levels,
        detach_prior=config.name == "per_level",
        guide=guide,
    )


class SchemeStep(nn.Module):
    """:func:`pyramid_step` as a module around ``model``, so that DDP sees its forward."""

    def __init__(self, model: CoarseToFine, config: SchemeConfig, max_steps: int) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.max_steps = max_steps

    def forward(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        step: int,
        generator: torch.Generator,
        guide: torch.Tensor | None = None,
    ) -> list[LevelResult]:
        return pyramid_step(
            self.model,
            inputs,
            targets,
            self.config,
            step=step,
            max_steps=self.max_steps,
            generator=generator,
            guide=guide,
        )


def _level_weights(config: SchemeConfig, count: int) -> list[float]:
    if config.level_weights is None:
        return [0.0] * (count - 1) + [1.0]
    if len(config.level_weights) != count:
        raise ConfigurationError(
            f"scheme.level_weights has {len(config.level_weights)} entries for {count} levels"
        )
    return list(config.level_weights)


def _walk(
    model: CoarseToFine,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    sizes: list[tuple[int, int]],
    windows: list[_Window] | None,
    *,
    last: int,
    weights: list[float],
    teacher_levels: set[int],
    detach_prior: bool,
    guide: torch.Tensor | None,
) -> list[LevelResult]:
    """Levels 0..last; levels before a teacher-forced one are skipped, gradients only
    flow where needed (all levels when unrolled, the last one otherwise)."""
    results: list[LevelResult] = []
    previous: torch.Tensor | None = None
    first = last if last in teacher_levels else 0
    for level in range(first, last + 1):
        view = windows[level].cut if windows else (lambda x: x)
        condition = view(resize(inputs, sizes[level]))
        target = view(resize(targets, sizes[level]))
        guided = {} if guide is None else {"guide": view(sparse_resize(guide, sizes[level]))}
        if level == 0:
            prior = None
        elif level in teacher_levels:
            prior = view(resize(resize(targets, sizes[level - 1]), sizes[level]))
        else:
            prior = _upsampled_prior(previous, level, sizes, windows)
            prior = prior.detach() if detach_prior else prior
        with torch.set_grad_enabled(
            torch.is_grad_enabled() and (level == last or not detach_prior)
        ):
            previous = model.run_level(level, condition, prior, **guided)
        if weights[level] > 0:
            logits = class_logits(model, level, target)
            results.append(LevelResult(level, condition, previous, target, weights[level], logits))
    return results


def class_logits(model: CoarseToFine, level: int, target: torch.Tensor) -> torch.Tensor | None:
    """The logits the colour-class head of ``level``'s generator kept from its last pass
    (see :class:`~pyramidrefine.generators.colour_head.ColourClassHead`), cut to the
    target's pixels (the pyramid pads bottom and right); ``None`` without such a head."""
    logits = getattr(model.generator_for(level), "class_logits", None)
    if logits is None:
        return None
    return logits[..., : target.shape[-2], : target.shape[-1]]


def _upsampled_prior(
    previous: torch.Tensor,
    level: int,
    sizes: list[tuple[int, int]],
    windows: list[_Window] | None,
) -> torch.Tensor:
    if windows is None:
        return resize(previous, sizes[level])
    parent, child = windows[level - 1], windows[level]
    upsampled = resize(previous, (2 * parent.height, 2 * parent.width))
    offset = _Window(
        child.top - 2 * parent.top, child.left - 2 * parent.left, child.height, child.width
    )
    return offset.cut(upsampled)


def check_crop_levels(sizes: list[tuple[int, int]]) -> None:
    """Refuse level sizes that ``crop_levels`` cannot nest (each must double the last)."""
    height, width = sizes[0]
    for level, (h, w) in enumerate(sizes):
        if (h, w) != (height * 2**level, width * 2**level):
            raise ConfigurationError(
                f"scheme.crop_levels needs level sizes that double exactly; got {sizes}. Use "
                "a data.image_size that is model.base_size times a power of two"
            )


def _crop_windows(sizes: list[tuple[int, int]], generator: torch.Generator) -> list[_Window]:
    """Nested random windows of the base size: level k's lies inside 2× level k−1's."""
    check_crop_levels(sizes)
    height, width = sizes[0]
    windows = [_Window(0, 0, height, width)]
    for _ in sizes[1:]:
        parent = windows[-1]
        top = 2 * parent.top + int(torch.randint(height + 1, (1,), generator=generator))
        left = 2 * parent.left + int(torch.randint(width + 1, (1,), generator=generator))
        windows.append(_Window(top, left, height, width))
    return windows
