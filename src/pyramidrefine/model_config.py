"""What a saved ``config.json`` may say: read as data, every key and bound checked first.

A model folder from someone else is data, never a code path: its config can only pick a
registered generator and describe its architecture. Nothing in it may name a file, a URL
or pretrained weights to fetch (timm and smp would load or download them), and every size
is bounded, so that reading a config can neither run code, download, nor exhaust memory.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CheckpointError, ConfigurationError, PyramidRefineError, UnknownNameError
from .registry import GENERATORS

MAX_CONFIG_BYTES = 1_000_000
MAX_NESTING = 8
MAX_STRING_LENGTH = 256
MAX_PLUGIN_INTEGER = 2**16
# CoarseToFine's own settings: (smallest, largest) value. The maxima are far above any
# useful model and far below what would hang or exhaust a machine.
SETTING_BOUNDS = {
    "in_channels": (1, 64),
    "out_channels": (1, 64),
    "levels": (1, 12),
    "max_levels": (1, 12),
    "base_size": (1, 16384),
    "tile": (1, 16384),
    "overlap": (0, 8192),
    "pad_multiple": (1, 1024),
    "guide_channels": (0, 8),
    "decision_levels": (1, 12),
    "margin": (0, 1024),
    "dither_from": (0, 12),
}
# CoarseToFine's settings that are numbers, not integers: (smallest, largest) value.
NUMBER_BOUNDS = {"dither": (0.0, 1.0)}
MIN_SAVED_TILE = 32
# CoarseToFine's settings that are not sizes: (type, description).
OWN_TYPES = {
    "generator": (str, "a registered generator's name"),
    "shared": (bool, "true or false"),
    "refiner": ((dict, type(None)), "an object of generator settings, or null"),
}
# Keys through which timm or smp would read a file or download: refused anywhere in a config.
LOADING_KEYS = frozenset(
    {
        "checkpoint_path",
        "pretrained",
        "pretrained_cfg",
        "pretrained_cfg_overlay",
        "pretrained_strict",
        "hf_hub_id",
        "hf_hub_filename",
        "url",
        "file",
        "cache_dir",
    }
)
_URL_OR_PATH = re.compile(
    r"://|[/\\]|^~|^\.\.?$|\.(pth?|bin|ckpt|pkl|pickle|safetensors|npz|onnx)$"
)


def check_settings(**settings: Any) -> None:
    """Raise :class:`ConfigurationError` unless each given setting is an integer in bounds
    (:data:`SETTING_BOUNDS`) or a number in bounds (:data:`NUMBER_BOUNDS`).

    ``None`` (unset) passes; other names are not checked.
    """
    for name, value in settings.items():
        if value is not None and name in NUMBER_BOUNDS:
            low, high = NUMBER_BOUNDS[name]
            if not (_is_number(value) and low <= value <= high):
                raise ConfigurationError(
                    f"{name} must be a number from {low} to {high}, got {repr(value)[:80]}"
                )
        if value is None or name not in SETTING_BOUNDS:
            continue
        low, high = SETTING_BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigurationError(f"{name} must be an integer, got {repr(value)[:80]}")
        if value < low:
            raise ConfigurationError(f"{name} must be at least {low}, got {value}")
        if value > high:
            raise ConfigurationError(
                f"{name} must be at most {high} (pyramidrefine's sane maximum), got {value}"
            )


def check_saved_tiling(tile: Any, overlap: Any) -> None:
    """A saved tile of at least :data:`MIN_SAVED_TILE` px that advances by half of it or more.

    Smaller or more overlapping tiles multiply the work of every level (``tile: 1`` runs
    the generator once per pixel), so a config from elsewhere cannot ask for them; a
    caller still can, at run time (``with_settings(tile=...)``, ``--tile``).
    """
    if tile is None or not _is_int(tile) or not _is_int(overlap):
        return
    if tile < MIN_SAVED_TILE or overlap > tile // 2:
        raise ConfigurationError(
            f"a saved tile must be at least {MIN_SAVED_TILE} px with an overlap of at most "
            f"half of it (more tiles multiply the work), got tile={tile}, overlap={overlap}; "
            "choose small tiles at run time instead (--tile)"
        )


def read_config(path: str | Path, source: str) -> dict[str, Any]:
    """The JSON object in ``path``, size-capped; any problem is one :class:`CheckpointError`."""
    with Path(path).open("rb") as file:
        text = file.read(MAX_CONFIG_BYTES + 1)
    if len(text) > MAX_CONFIG_BYTES:
        raise CheckpointError(
            f"{source}: config.json is larger than the {MAX_CONFIG_BYTES} bytes a model config "
            "can need; it is not a pyramidrefine model config"
        )
    try:
        config = json.loads(text)
    except RecursionError:
        raise CheckpointError(f"{source}: config.json is nested too deeply to be read") from None
    except (ValueError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{source}: config.json is not valid JSON ({reason})") from None
    if not isinstance(config, dict):
        raise CheckpointError(
            f"{source}: config.json must hold a JSON object of settings, got "
            f"{_json_type(config)}; write it with save_pretrained"
        )
    return config


def check_config(
    config: Mapping[str, Any], source: str, parameters: Collection[str]
) -> dict[str, Any]:
    """The keyword arguments that rebuild the model ``config`` describes, all checked.

    ``parameters`` are the model class's own constructor parameters; every other key is
    a generator keyword argument and must be one the generator accepts (an allowlist per
    generator). Pretrained encoder weights are switched off: saved weights replace them.
    Raises :class:`CheckpointError` naming the first key that is refused.
    """
    try:
        _check_values(config)
        own = {key: value for key, value in config.items() if key in parameters}
        generator_kwargs = {k: v for k, v in config.items() if k not in parameters}
        check_settings(**own)
        check_saved_tiling(own.get("tile"), own.get("overlap", 0))
        for key, (kind, text) in OWN_TYPES.items():
            if key in own and not isinstance(own[key], kind):
                raise ConfigurationError(f"{key!r} must be {text}, got {repr(own[key])[:80]}")
        generator, refiner = own.get("generator", "unet"), own.get("refiner")
        rules = generator_rules(generator)
        _check_generator_kwargs(generator, generator_kwargs, rules, generator_kwargs)
        if refiner is not None:  # the refiner is built from the generator's kwargs | refiner
            combined = {**generator_kwargs, **refiner}
            _check_generator_kwargs(generator, refiner, rules, combined, prefix="refiner.")
            own["refiner"] = without_pretrained_weights(refiner)
    except PyramidRefineError as error:
        raise CheckpointError(
            f"{source}: config.json does not describe a model pyramidrefine can load: {error}"
        ) from None
    return {**own, **without_pretrained_weights(generator_kwargs)}


@dataclass(frozen=True)
class Rule:
    """What one generator keyword argument may be: a test and its description."""

    accepts: Callable[[Any], bool]
    text: str

    def __or__(self, other: Rule) -> Rule:
        return Rule(lambda v: self.accepts(v) or other.accepts(v), f"{self.text} or {other.text}")


def integer(low: int, high: int) -> Rule:
    """An integer (not a bool) in ``[low, high]``."""
    return Rule(lambda v: _is_int(v) and low <= v <= high, f"an integer from {low} to {high}")


def number(low: float, high: float) -> Rule:
    """A finite number in ``[low, high]``."""
    return Rule(lambda v: _is_number(v) and low <= v <= high, f"a number from {low} to {high}")


def integers(low: int, high: int, min_count: int, max_count: int) -> Rule:
    """A list of ``min_count`` to ``max_count`` integers in ``[low, high]``."""
    return Rule(
        lambda v: (
            isinstance(v, list)
            and min_count <= len(v) <= max_count
            and all(_is_int(x) and low <= x <= high for x in v)
        ),
        f"a list of {min_count} to {max_count} integers from {low} to {high}",
    )


def choice(*values: Any) -> Rule:
    """One of ``values`` (compared with ``==`` and the same type)."""
    return Rule(
        lambda v: any(type(v) is type(x) and v == x for x in values),
        "one of " + ", ".join(json.dumps(x) for x in values),
    )


# A table, or a function of the generator's kwargs that gives one.
Rules = dict[str, Rule] | Callable[[Mapping[str, Any]], dict[str, Rule]]
BOOLEAN = choice(True, False)
NONE = choice(None)
CHANNELS = integer(1, 1024)
# What a saved setting of a plugin (a generator's or a task's) may be: a JSON scalar of
# bounded size (strings are checked for paths and URLs with every other value).
SCALAR = (
    NONE
    | BOOLEAN
    | number(-MAX_PLUGIN_INTEGER, MAX_PLUGIN_INTEGER)
    | Rule(lambda v: isinstance(v, str), "a string")
)
MAX_LIST_LENGTH = 16
SCALARS = SCALAR | Rule(
    lambda v: (
        isinstance(v, list) and len(v) <= MAX_LIST_LENGTH and all(SCALAR.accepts(x) for x in v)
    ),
    f"a list of up to {MAX_LIST_LENGTH} of those",
)

UNET_RULES = {
    "base_channels": integer(1, 512),
    "depth": integer(1, 8),
    "max_channels": integer(1, 2048),
    "norm": choice("batch", "group", "instance", "none"),
}
NORMS = choice("batchnorm", "identity", "layernorm", "instancenorm")
SMP_RULES = {
    "encoder_weights": NONE | choice("imagenet"),
    "encoder_depth": integer(1, 5),
    "decoder_channels": CHANNELS | integers(1, 1024, 1, 5),
    "decoder_use_norm": BOOLEAN | NORMS,
    "decoder_use_batchnorm": BOOLEAN,
    "decoder_attention_type": NONE | choice("scse"),
    "decoder_interpolation": choice("nearest", "bilinear", "bicubic", "area", "nearest-exact"),
    "decoder_pab_channels": CHANNELS,
    "decoder_pyramid_channels": CHANNELS,
    "decoder_segmentation_channels": CHANNELS,
    "decoder_merge_policy": choice("add", "cat"),
    "decoder_dropout": number(0, 1),
    "decoder_atrous_rates": integers(1, 64, 3, 3),
    "decoder_aspp_separable": BOOLEAN,
    "decoder_aspp_dropout": number(0, 1),
    "decoder_readout": choice("ignore", "add", "cat"),
    "decoder_intermediate_channels": integers(1, 2048, 4, 4),
    "decoder_fusion_channels": CHANNELS,
    "encoder_output_stride": choice(8, 16, 32),
    "encoder_output_indices": NONE | integers(0, 64, 1, 8),
    "psp_out_channels": CHANNELS,
    "psp_dropout": number(0, 1),
    "upsampling": NONE | integer(1, 32),
    "activation": NONE | choice("identity", "sigmoid", "tanh"),
}


# The colour-class head any generator takes (pyramidrefine.generators.colour_head).
HEAD_RULES = {"colour_bins": NONE | integer(2, 64), "colour_temperature": number(0.01, 10)}


def generator_rules(name: str) -> Rules:
    """The allowlist of keyword arguments for the registered generator ``name``.

    A table for ``"unet"``; for ``"smp"`` a function of the kwargs (what is allowed
    depends on the architecture); for any other (plugin) generator, the parameters its
    factory names, each a JSON scalar. Every generator also takes :data:`HEAD_RULES`.
    """
    if name == "unet":
        return UNET_RULES | HEAD_RULES
    if name == "smp":
        return smp_rules
    try:
        factory = GENERATORS.get(name)
    except UnknownNameError as error:
        raise UnknownNameError(
            f"{error} For a generator of your own, import the file or module that registers it "
            "first (CLI: --import FILE; Python: pyramidrefine.load_module)"
        ) from None
    return named_parameters(factory, SCALAR, exclude=("in_channels", "out_channels")) | HEAD_RULES


def named_parameters(
    factory: Callable[..., Any], rule: Rule, exclude: Collection[str] = ()
) -> dict[str, Rule]:
    """``rule`` for each parameter ``factory`` names (not ``*args``, ``**kwargs``, ``exclude``).

    A factory without a readable signature names none, so a saved config can set nothing.
    """
    try:
        named = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: rule for p in named if p.kind in kinds and p.name not in exclude}


def check_factory_kwargs(owner: str, kwargs: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Raise :class:`ConfigurationError` unless saved ``kwargs`` for ``owner`` pass ``rules``.

    As for a generator in ``config.json``: no loading keys, file paths or URLs anywhere, no
    deep nesting, only the keys ``rules`` names (``owner`` words the message, e.g.
    ``"the 'denoising' task"``), each value one its rule accepts.
    """
    _check_values(kwargs)
    _check_kwargs(owner, kwargs, rules)


def smp_rules(kwargs: Mapping[str, Any]) -> dict[str, Rule]:
    """smp's allowlist for the architecture in ``kwargs``: its own parameters only."""
    import segmentation_models_pytorch as smp

    architectures = smp.MODEL_ARCHITECTURES_MAPPING
    arch = kwargs.get("arch", "unet")
    if not isinstance(arch, str) or arch.lower() not in architectures:
        raise ConfigurationError(
            f"'arch' must be one of smp's architectures ({', '.join(architectures)}), got {arch!r}"
        )
    accepted = set(inspect.signature(architectures[arch.lower()].__init__).parameters)
    if "decoder_use_norm" in accepted:
        accepted.add("decoder_use_batchnorm")  # smp's deprecated spelling, still read
    rules = {key: rule for key, rule in SMP_RULES.items() if key in accepted}
    encoders = Rule(is_smp_encoder, "one of smp's encoders or tu-<a model timm lists>")
    head = {"head_kernel": choice(1, 3, 5, 7)}
    return {"arch": choice(arch), "encoder_name": encoders, **rules, **head, **HEAD_RULES}


def is_smp_encoder(name: Any) -> bool:
    """Whether ``name`` is an smp encoder, or ``tu-`` and an architecture timm lists."""
    import segmentation_models_pytorch as smp

    if not isinstance(name, str):
        return False
    if name.startswith("tu-"):
        import timm

        return name[3:].split(".")[0] in timm.list_models()
    return name in smp.encoders.get_encoder_names()


def _check_generator_kwargs(
    generator: str,
    kwargs: Mapping[str, Any],
    rules: Rules,
    context: Mapping[str, Any],
    prefix: str = "",
) -> None:
    """Check ``kwargs`` against ``rules`` (or the rules for a generator built from ``context``)."""
    table = rules(context) if callable(rules) else rules
    _check_kwargs(f"the {generator!r} generator", kwargs, table, prefix)


def _check_kwargs(
    owner: str, kwargs: Mapping[str, Any], table: Mapping[str, Rule], prefix: str = ""
) -> None:
    for key, value in kwargs.items():
        if key not in table:
            known = ", ".join(sorted(table)) or "none"
            raise ConfigurationError(f"unknown key {prefix + key!r} for {owner} (it takes {known})")
        if not table[key].accepts(value):
            raise ConfigurationError(
                f"{prefix + key} must be {table[key].text}, "
                f"got {json.dumps(value, default=repr)[:80]}"
            )


def _check_values(config: Mapping[str, Any]) -> None:
    """Refuse loading keys, file paths and URLs anywhere, and deep nesting (iteratively)."""
    pending = [(key, key, value, 1) for key, value in config.items()]
    while pending:
        path, name, value, depth = pending.pop()
        if not isinstance(name, str):  # YAML (training.yaml) allows keys of any type
            raise ConfigurationError(f"key {name!r} in {path!r} is not a string")
        if len(name) > MAX_STRING_LENGTH:
            raise ConfigurationError(f"a key of {len(name)} characters ({name[:40]!r}...)")
        if depth > MAX_NESTING:
            raise ConfigurationError(f"{path!r} is nested more than {MAX_NESTING} levels deep")
        if name.lower() in LOADING_KEYS:
            raise ConfigurationError(
                f"key {path!r} would make timm or smp read a file or download weights; a model "
                "folder's config may only describe an architecture"
            )
        if isinstance(value, str) and (
            len(value) > MAX_STRING_LENGTH or _URL_OR_PATH.search(value)
        ):
            raise ConfigurationError(
                f"{path!r} holds {json.dumps(value)[:80]}, which looks like a file path or URL; "
                "a model folder's config may only describe an architecture"
            )
        if isinstance(value, dict):
            pending += [(f"{path}.{k}", k, v, depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            pending += [(f"{path}[{i}]", "", v, depth + 1) for i, v in enumerate(value)]


def without_pretrained_weights(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` with ``encoder_weights=None``: building to load saved weights fetches none."""
    return {**kwargs, "encoder_weights": None} if "encoder_weights" in kwargs else dict(kwargs)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


def _json_type(value: Any) -> str:
    names = {type(None): "null", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "a number")
