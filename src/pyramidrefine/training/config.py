"""Training configuration: nested dataclasses, loaded from YAML, overridable by ``key=value``."""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..atomic import write_text_atomic
from ..errors import ConfigurationError

# The model section when a config gives none; ``base_size`` is filled in when the section
# names neither ``levels`` nor ``base_size`` (CoarseToFine's own default is 256).
DEFAULT_MODEL: dict[str, Any] = {"generator": "unet", "base_size": 128}
# Keys of the model section that are not CoarseToFine's: they say how training starts.
TRAINING_ONLY_MODEL_KEYS = ("init_from", "guide_init")
TASK_CHANNEL_KEYS = ("in_channels", "out_channels")
LEGACY_GENERATOR_KWARGS = "generator_kwargs"


def model_section(values: Any) -> dict[str, Any]:
    """The ``model:`` section as ``CoarseToFine``'s keyword arguments (plus ``init_from``).

    The same keys as a saved ``config.json``: ``generator``, ``levels`` or ``base_size``,
    ``max_levels``, ``shared``, ``refiner``, ``refinement``, ``decision_levels``, ``margin``,
    ``dither``, ``dither_from``, ``tile``, ``overlap``, ``pad_multiple`` and the generator's
    own keyword arguments, flat (``arch``, ``encoder_name``, ``base_channels``...). The task sets
    ``in_channels`` and ``out_channels``. ``init_from``: start from the weights of a model
    folder written by ``save_pretrained``, a Hub id or a shipped model's name (``default``:
    the shipped colorizer); its architecture must be the one configured here, and its view
    settings (``margin``, ``dither``, ``decision_levels``...) carry over unless set here; one with
    fewer guide channels is widened for them, ``guide_init`` (``zeros``, default, or
    ``prior``) saying how (:func:`~pyramidrefine.guides.add_guide_channels`). The older
    nested ``generator_kwargs: {...}`` is still read (flattened, with a deprecation warning).
    """
    if not isinstance(values, dict):
        raise ConfigurationError(
            f"config.model must be a mapping of CoarseToFine's keyword arguments, got {values!r}"
        )
    section = dict(values)
    nested = section.pop(LEGACY_GENERATOR_KWARGS, None)
    if nested is not None:
        if not isinstance(nested, dict):
            raise ConfigurationError(
                f"model.generator_kwargs must be a mapping, got {nested!r}; better, write its "
                "keys directly under model: (e.g. model.base_channels=32)"
            )
        warnings.warn(
            "model.generator_kwargs is deprecated: write the generator's keyword arguments "
            f"directly under model: ({', '.join(f'model.{k}' for k in nested) or 'none'})",
            FutureWarning,
            stacklevel=2,
        )
        section |= nested
    given = [key for key in TASK_CHANNEL_KEYS if key in section]
    if given:
        raise ConfigurationError(
            f"model.{given[0]} is set by the task (its input and output channels); remove it"
        )
    section = {"generator": DEFAULT_MODEL["generator"], **section}
    if section.get("levels") is None and "base_size" not in section:
        section["base_size"] = DEFAULT_MODEL["base_size"]
    return section


def model_kwargs(section: dict[str, Any]) -> dict[str, Any]:
    """``CoarseToFine``'s keyword arguments of a model section (``init_from`` left out)."""
    return {k: v for k, v in section.items() if k not in TRAINING_ONLY_MODEL_KEYS}


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
    to this long side (``None``: full size). ``hints``: train with colour hints sampled
    from the truth, e.g. ``{mean_count: 8, none_fraction: 0.125, max_patch: 5}`` (needs
    ``model.guide_channels``; see :mod:`~pyramidrefine.training.hints`); ``None``: none.
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
    hints: dict[str, Any] | None = None


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
    the two-stage recipe; the discriminator then trains ``discriminator_warmup`` steps
    alone before its verdict reaches the generator (a judge that has learned something
    first, instead of a random one the generator chases). ``name``: the registered loss
    that builds the objective (``create_loss(name, l1_weight=..., gan=..., **kwargs)``,
    ``gan`` ``None`` without a discriminator); a loss of one's own is one line, ``loss.name: mine``.
    """

    name: str = "pix2pix"
    kwargs: dict[str, Any] = field(default_factory=dict)
    l1_weight: float = 100.0
    gan: Literal["none", "vanilla", "lsgan", "hinge"] = "none"
    discriminator: str | None = "patchgan"
    discriminator_kwargs: dict[str, Any] = field(default_factory=dict)
    pretrain_steps: int | None = None
    discriminator_warmup: int = 0

    def gan_start(self, max_steps: int) -> int | None:
        """The step at which the discriminator starts training; ``None`` when trained L1
        only. The generator's adversarial term starts ``discriminator_warmup`` steps later."""
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
    # wall-clock budget of this process's training loop: stop (validate, checkpoint, export)
    # at the first step past it; null: none. For a machine lent for a fixed time.
    max_minutes: float | None = None
    # "auto": bf16 where it is fast (GPUs with bf16, CPUs with native bf16), else none
    mixed_precision: Literal["no", "fp16", "bf16", "auto"] = "no"
    channels_last: bool = False  # NHWC weights: faster convolutions on most CPUs and GPUs
    gradient_accumulation_steps: int = 1
    ema_decay: float | None = None
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    validate_every: int = 200
    log_every: int = 10
    seed: int = 0
    model: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_MODEL))
    data: DataConfig = field(default_factory=DataConfig)
    scheme: SchemeConfig = field(default_factory=SchemeConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def __post_init__(self) -> None:
        self.model = model_section(self.model)
        if self.mixed_precision is False:  # YAML reads a bare `no` as false
            self.mixed_precision = "no"
        if self.mixed_precision not in ("no", "fp16", "bf16", "auto"):
            raise ConfigurationError(
                f"mixed_precision must be no, fp16, bf16 or auto, got {self.mixed_precision!r}"
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
