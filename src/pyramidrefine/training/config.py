"""Training configuration: nested dataclasses, loaded from YAML, overridable by ``key=value``."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..atomic import write_text_atomic
from ..errors import ConfigurationError


@dataclass
class ModelConfig:
    """The CoarseToFine model: generator and pyramid shape (see ``CoarseToFine``).

    ``init_from``: start from the weights of a model folder written by ``save_pretrained``,
    a Hub id or a shipped model's name (``default``: the shipped colorizer); its
    architecture must be the one configured here. ``refiner``: generator keyword arguments
    of a lighter generator for the finer levels; ``refinement``: ``full`` or ``detail`` (see
    ``CoarseToFine``).
    """

    generator: str = "unet"
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    levels: int | None = None
    base_size: int | None = 128
    shared: bool = True
    refiner: dict[str, Any] | None = None
    refinement: str = "full"
    init_from: str | None = None


@dataclass
class DataConfig:
    """Where images come from and how they are cut into training samples.

    ``train`` (required): one source or a list (image folders, ``.parquet``/``.arrow``
    files, ``save_to_disk`` folders, Hub dataset ids); ``val``: a separate validation
    source, else ``val_fraction`` of ``train`` is held out. ``image_size``: side of the
    training crops (at most 4096).
    ``cache_size``: decode every training image once into a ``cache_size``² uint8 cache on
    disk (under ``cache_dir``, default ``<output_dir>/image-cache``) and cut the
    ``image_size`` crops on the training device; ``None`` decodes and crops per sample in
    ``num_workers`` loader processes. ``val_max_side``: validation images are scaled down
    to this long side (``None``: full size).
    """

    train: str | list[str] | None = None
    val: str | None = None
    val_fraction: float = 0.1
    image_size: int = 256
    batch_size: int = 8
    num_workers: int = 0
    streaming: bool = False
    val_max_images: int = 32
    val_max_side: int | None = 512
    cache_size: int | None = None
    cache_dir: str | None = None


@dataclass
class SchemeConfig:
    """How the pyramid is trained.

    ``unrolled``: all levels in one graph, loss at the final level plus optional per-level
    ``level_weights`` (deep supervision). ``per_level``: one level per step, fed as prior
    the ground truth (``teacher``), the network's own detached prediction (``self``), or
    a ``scheduled`` mix whose teacher probability moves linearly from
    ``teacher_start`` to ``teacher_end`` over training. ``crop_levels``: level 0 sees the
    whole image at the base size; finer levels see aligned random crops of that size.
    """

    name: Literal["unrolled", "per_level"] = "unrolled"
    level_weights: list[float] | None = None
    feedback: Literal["teacher", "self", "scheduled"] = "scheduled"
    teacher_start: float = 1.0
    teacher_end: float = 0.0
    crop_levels: bool = False


@dataclass
class LossConfig:
    """Objective: ``l1_weight``·L1, plus a conditional GAN when ``gan`` is not ``none``.

    The default trains L1 only. ``gan: vanilla`` (or ``lsgan``, ``hinge``) adds the
    ``discriminator`` (``patchgan`` or ``multiscale``; ``null`` keeps L1 only) after
    ``pretrain_steps`` L1-only steps (``null``: the first three quarters of ``max_steps``),
    the two-stage recipe.
    """

    l1_weight: float = 100.0
    gan: Literal["none", "vanilla", "lsgan", "hinge"] = "none"
    discriminator: str | None = "patchgan"
    discriminator_kwargs: dict[str, Any] = field(default_factory=dict)
    pretrain_steps: int | None = None

    def gan_start(self, max_steps: int) -> int | None:
        """The step at which the adversarial term starts; ``None`` when trained L1 only."""
        if self.gan == "none" or not self.discriminator:
            return None
        if self.pretrain_steps is None:
            return max_steps * 3 // 4
        return self.pretrain_steps


@dataclass
class OptimConfig:
    """Adam for generator and discriminator; constant or cosine schedule with warm-up."""

    lr: float = 2e-4
    discriminator_lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    scheduler: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0
    max_grad_norm: float | None = None


@dataclass
class TrainConfig:
    """Everything one training run needs.

    ``output_dir``: the run folder (``None``: a new ``runs/<task>-<YYYYmmdd-HHMMSS>``).
    ``resume``: continue from the folder's newest checkpoint (refused when the folder's
    config differs in a key that changes the experiment); ``false`` starts over, deleting
    the folder's checkpoints, metrics, samples and model.
    """

    output_dir: str | None = None
    resume: bool = True
    task: str = "colorization"
    task_kwargs: dict[str, Any] = field(default_factory=dict)  # e.g. denoising's noise model
    max_steps: int = 1000
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    channels_last: bool = False  # NHWC weights: faster convolutions on most CPUs and GPUs
    gradient_accumulation_steps: int = 1
    ema_decay: float | None = None
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    validate_every: int = 200
    log_every: int = 10
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    scheme: SchemeConfig = field(default_factory=SchemeConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        if self.mixed_precision is False:  # YAML reads a bare `no` as false
            self.mixed_precision = "no"
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ConfigurationError(
                f"mixed_precision must be no, fp16 or bf16, got {self.mixed_precision!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (for YAML/JSON)."""
        return dataclasses.asdict(self)


def load_config(path: str | os.PathLike | None = None, overrides: list[str] = ()) -> TrainConfig:
    """Read a YAML config (or the defaults) and apply ``section.key=value`` overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigurationError(f"{path}: cannot read the config ({error})") from None
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep:
            raise ConfigurationError(f"override {override!r} must look like section.key=value")
        *parents, leaf = key.strip().split(".")
        node = values
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigurationError(f"override {override!r}: {part} is not a section")
        try:
            node[leaf] = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            problem = str(error).splitlines()[0]
            raise ConfigurationError(
                f"override {override!r}: not a YAML value ({problem})"
            ) from None
    return _build(TrainConfig, values, "config")


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigurationError(f"{where} must be a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigurationError(
            f"unknown key(s) {unknown} in {where}; known keys: {sorted(fields)}"
        )
    kwargs = {}
    for name, value in values.items():
        nested = fields[name].default_factory
        if dataclasses.is_dataclass(nested) and isinstance(nested, type):
            kwargs[name] = _build(nested, value, f"{where}.{name}")
        else:
            kwargs[name] = tuple(value) if name == "betas" else value
    return cls(**kwargs)


def save_config(config: TrainConfig, path: str | os.PathLike) -> None:
    """Write ``config`` as YAML (atomically)."""
    write_text_atomic(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
