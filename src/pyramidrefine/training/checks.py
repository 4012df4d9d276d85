"""Checks of a training config before any work: types, ranges, sizes, memory.

Everything here raises a one-line :class:`~pyramidrefine.errors.ConfigurationError` that
names the key and what to set, before a model, a dataset or a checkpoint is touched
(:func:`check_config`), or before the data is loaded and the first batch allocated
(:func:`check_training_memory`); too few photos for a batch are a
:class:`~pyramidrefine.errors.DataError` once they are counted (:func:`check_enough_images`).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Iterator
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import torch
from torch import nn

from ..errors import ConfigurationError, DataError
from ..hardware import GIB, available_memory
from ..pyramid import CoarseToFine
from .config import TrainConfig
from .hints import parse_hint_sampling
from .model import check_model_section
from .schemes import check_crop_levels

MAX_IMAGE_SIZE = 4096  # longest crop side (and cache side) a training run accepts
EXAMPLE_RUN = "pyramidrefine train --config configs/colorize-pyramid.yaml data.train=PHOTOS/"
# Peak memory of a training step over the activations autograd keeps for the backward
# pass: measured 1.15-1.25x on the CPU (U-Nets of 16 and 32 channels, 256-512 px crops).
BACKWARD_FACTOR = 1.25
# Parameters, their gradients and Adam's two moments.
PARAMETER_COPIES = 4
DISCRIMINATOR_PROBE = 64  # px: enough for a PatchGAN's strided layers

_Rule = tuple[str, Callable[[Any], bool], str]
_RULES: tuple[_Rule, ...] = (
    ("max_steps", lambda v: v >= 1, "at least 1 (the number of optimizer steps to train)"),
    ("max_minutes", lambda v: v is None or v > 0, "a positive number of minutes (or null)"),
    ("gradient_accumulation_steps", lambda v: v >= 1, "at least 1"),
    ("checkpoint_every", lambda v: v >= 1, "at least 1 (steps between checkpoints)"),
    ("keep_checkpoints", lambda v: v >= 1, "at least 1"),
    ("validate_every", lambda v: v >= 1, "at least 1 (steps between validations)"),
    ("log_every", lambda v: v >= 1, "at least 1 (steps between logged losses)"),
    ("ema_decay", lambda v: v is None or 0 < v < 1, "between 0 and 1 (or null: no EMA)"),
    ("data.batch_size", lambda v: v >= 1, "at least 1"),
    ("data.image_size", lambda v: 1 <= v <= MAX_IMAGE_SIZE, f"from 1 to {MAX_IMAGE_SIZE}"),
    ("data.cache_size", lambda v: v is None or 1 <= v <= MAX_IMAGE_SIZE,
     f"from 1 to {MAX_IMAGE_SIZE} (or null: no cache)"),
    ("data.num_workers", lambda v: v >= 0, "0 or more"),
    ("data.val_fraction", lambda v: 0 <= v < 1, "from 0 up to (not including) 1"),
    ("data.val_max_images", lambda v: v >= 1, "at least 1"),
    ("data.val_max_side", lambda v: v is None or v >= 1, "at least 1 (or null: full size)"),
    ("loss.l1_weight", lambda v: v >= 0, "0 or more"),
    ("loss.pretrain_steps", lambda v: v is None or v >= 0, "0 or more (or null)"),
    ("loss.discriminator_warmup", lambda v: v >= 0, "0 or more"),
    ("optim.lr", lambda v: v > 0, "a positive learning rate, e.g. optim.lr=0.0002"),
    ("optim.discriminator_lr", lambda v: v > 0, "a positive learning rate"),
    ("optim.betas", lambda v: all(0 <= b < 1 for b in v), "two numbers in [0, 1)"),
    ("optim.weight_decay", lambda v: v >= 0, "0 or more"),
    ("optim.warmup_steps", lambda v: v >= 0, "0 or more"),
    ("optim.max_grad_norm", lambda v: v is None or v > 0, "positive (or null: no clipping)"),
)  # fmt: skip


def check_config(config: TrainConfig) -> None:
    """Refuse a config that cannot train: wrong types, out-of-range values, missing data."""
    for key, value, hint in _typed_values(config):
        if not _fits(value, hint):
            raise ConfigurationError(f"{key}={value!r} must be {_describe(hint)}")
    for key, valid, requirement in _RULES:
        value = _value(config, key)
        if not valid(value):
            raise ConfigurationError(f"{key}={value!r}: must be {requirement}")
    check_model_section(config.model)
    data = config.data
    parse_hint_sampling(data.hints)
    if not data.train:
        raise ConfigurationError(
            "data.train is not set: name the training photos (a folder, a list of folders, "
            f"a .parquet/.arrow file or a Hub dataset id), e.g. {EXAMPLE_RUN}"
        )
    if data.cache_size is not None and data.image_size > data.cache_size:
        raise ConfigurationError(
            f"data.image_size={data.image_size} is larger than data.cache_size="
            f"{data.cache_size}: crops are cut from the cache; raise data.cache_size"
        )
    if data.cache_size is not None and data.streaming:
        raise ConfigurationError("data.cache_size needs a dataset on disk, not data.streaming")


def check_training_memory(
    model: CoarseToFine,
    config: TrainConfig,
    device: torch.device | str,
    discriminator: nn.Module | None = None,
) -> None:
    """Refuse a batch that would not fit in the memory ``device`` has available."""
    needed = training_bytes(model, config, discriminator)
    available = available_memory(device)
    if needed > available:
        data = config.data
        raise ConfigurationError(
            f"a training step needs about {_gib(needed)} (data.batch_size={data.batch_size} "
            f"crops of data.image_size={data.image_size} px through this model), more than "
            f"the {_gib(available)} available on {device}; lower data.batch_size or "
            "data.image_size"
        )


def training_bytes(
    model: CoarseToFine, config: TrainConfig, discriminator: nn.Module | None = None
) -> int:
    """Approximate peak bytes of one training step: activations, gradients, optimizer.

    Activations are measured per pixel by a probe pass of each generator (and of the
    discriminator) on a small input, then scaled to the batch and the levels it trains.
    """
    side = config.data.image_size
    sizes = model.level_sizes(side, side)
    if config.scheme.crop_levels:
        check_crop_levels(sizes)
        level_pixels = [sizes[0][0] * sizes[0][1]] * len(sizes)
    else:
        level_pixels = [height * width for height, width in sizes]
    probe = 4 * model.pad_multiple
    per_pixel: dict[int, float] = {}
    activations = 0.0
    for level, pixels in enumerate(level_pixels):
        generator = model.generator_for(level)
        if id(generator) not in per_pixel:
            channels = [model.generator_in_channels]
            per_pixel[id(generator)] = _saved_bytes(generator, channels, probe) / probe**2
        activations += pixels * per_pixel[id(generator)]
    modules: list[nn.Module] = [model]
    if discriminator is not None:  # a real and a fake pair at the final level
        channels = [model.in_channels, model.out_channels]
        side = max(probe, DISCRIMINATOR_PROBE)
        activations += 2 * level_pixels[-1] * _saved_bytes(discriminator, channels, side) / side**2
        modules.append(discriminator)
    parameters = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
    batch = config.data.batch_size
    return int(BACKWARD_FACTOR * batch * activations + PARAMETER_COPIES * parameters)


def _saved_bytes(module: nn.Module, channels: list[int], side: int) -> int:
    """Bytes autograd keeps for the backward pass of ``module`` on ``side``² inputs with
    these channels (parameters not counted)."""
    parameters = {p.untyped_storage().data_ptr() for p in module.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    buffers = {name: buffer.clone() for name, buffer in module.named_buffers()}
    inputs = [torch.zeros(1, c, side, side) for c in channels]
    try:  # a probe must not move BatchNorm statistics
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            module(*inputs)
    finally:
        with torch.no_grad():
            for name, buffer in module.named_buffers():
                buffer.copy_(buffers[name])
    return sum(storages.values())


def _gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB" if size >= GIB // 10 else f"{size / 2**20:.1f} MiB"


def _typed_values(config: Any, prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    hints = get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            yield from _typed_values(value, f"{prefix}{field.name}.")
        else:
            yield f"{prefix}{field.name}", value, hints[field.name]


def _value(config: TrainConfig, key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _fits(value: Any, hint: Any) -> bool:
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin is Literal:
        return value in args
    if origin in (Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    if origin is tuple:
        return (
            isinstance(value, tuple | list)
            and len(value) == len(args)
            and all(_fits(v, a) for v, a in zip(value, args, strict=True))
        )
    if origin is dict:
        return isinstance(value, dict)
    raise TypeError(f"no check for the config type {hint}")


def _describe(hint: Any) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in args)
    if origin is list:
        return f"a list of ({_describe(args[0])})"
    if origin is tuple:
        return f"a list of {len(args)} numbers"
    if origin is dict:
        return "a mapping {key: value}"
    names = {type(None): "null", bool: "true or false", int: "a whole number",
             float: "a number", str: "text"}  # fmt: skip
    return names[hint]


def check_enough_images(count: int, batch_size: int) -> None:
    """Raise :class:`DataError` unless ``count`` training images fill a batch of ``batch_size``."""
    if count < batch_size:
        raise DataError(
            f"{count} training images are fewer than data.batch_size={batch_size}; "
            "add photos or lower data.batch_size"
        )
