"""The model a run trains: ``CoarseToFine(**config.model)``, checked, optionally warm-started.

The ``model:`` section of a training config holds ``CoarseToFine``'s keyword arguments,
the same keys as the ``config.json`` the run saves (see
:func:`~pyramidrefine.training.config.model_section`), so it is checked as a saved config
is: a run whose model could not be loaded again is refused before it starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch

from ..errors import ConfigurationError, PyramidRefineError, TrainingError
from ..guides import add_guide_channels
from ..model_config import (
    OWN_TYPES,
    check_factory_kwargs,
    check_saved_tiling,
    check_settings,
    generator_rules,
)
from ..pretrained import load_model
from ..pyramid import VIEW_SETTINGS, CoarseToFine
from ..tasks.base import Task
from .config import TrainConfig, model_kwargs

# The view settings a fine-tune keeps from its ``init_from`` unless its model section sets
# them: how the weights run (margin, dither, the deciding levels...), so that the run trains
# and exports the model it starts from. The pyramid's sizes are always the section's.
INHERITED_SETTINGS = tuple(
    name for name in VIEW_SETTINGS if name not in ("levels", "base_size", "memory_budget")
)


def coarse_to_fine_parameters() -> list[str]:
    """The names of ``CoarseToFine``'s own keyword arguments (not the generator's)."""
    parameters = inspect.signature(CoarseToFine.__init__).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]


def check_model_section(section: Mapping[str, Any]) -> None:
    """Raise a one-line :class:`ConfigurationError` naming the first refused model key.

    ``CoarseToFine``'s settings must be in bounds; every other key must be one the
    generator takes (the allowlist ``config.json`` is read with), valued as it allows.
    """
    kwargs = model_kwargs(dict(section))
    parameters = {"generator", *coarse_to_fine_parameters()}
    own = {key: value for key, value in kwargs.items() if key in parameters}
    generator_kwargs = {key: value for key, value in kwargs.items() if key not in parameters}
    try:
        if own.get("levels") is not None and own.get("base_size") is not None:
            raise ConfigurationError(
                "give either levels or base_size, not both (base_size=null with fixed levels)"
            )
        check_settings(**own)
        check_saved_tiling(own.get("tile"), own.get("overlap", 0))
        for key, (kind, text) in OWN_TYPES.items():
            if key in own and not isinstance(own[key], kind):
                raise ConfigurationError(f"{key} must be {text}, got {repr(own[key])[:80]}")
        rules = generator_rules(own["generator"])
        refiner = own.get("refiner") or {}
        for given, context in [
            (generator_kwargs, generator_kwargs),
            (refiner, generator_kwargs | refiner),
        ]:
            table = rules(context) if callable(rules) else rules
            check_factory_kwargs(f"the {own['generator']!r} generator", given, table)
    except PyramidRefineError as error:
        raise ConfigurationError(f"model: {error}") from None


def build_model(config: TrainConfig, task: Task) -> CoarseToFine:
    """``CoarseToFine(**config.model)`` for ``task``'s channels, warm-started from
    ``model.init_from`` if set (keeping its :data:`INHERITED_SETTINGS` the section does not
    set), in channels-last layout if ``config.channels_last``."""
    kwargs = model_kwargs(config.model)
    source = config.model.get("init_from")
    start = load_model(source) if source else None
    if start is not None:
        kwargs = {name: getattr(start, name) for name in INHERITED_SETTINGS} | kwargs
    try:
        model = CoarseToFine(in_channels=task.in_channels, out_channels=task.out_channels, **kwargs)
    except ConfigurationError as error:
        raise ConfigurationError(f"model: {error}") from None
    if start is not None:
        load_weights(model, start, source, config.model.get("guide_init", "zeros"))
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def load_weights(
    model: CoarseToFine, saved: CoarseToFine, source: str, guide_init: str = "zeros"
) -> None:
    """Copy the weights of ``saved``, loaded from ``source`` (a folder, Hub id or shipped
    model's name such as ``default``), into ``model`` (same architecture). A source with fewer
    guide channels is widened first (:func:`~pyramidrefine.guides.add_guide_channels`
    with ``init=guide_init``), so that a hint fine-tune starts from a hint-free model's
    outputs."""
    if saved.guide_channels < model.guide_channels:
        added = model.guide_channels - saved.guide_channels
        try:
            saved = add_guide_channels(saved, added, init=guide_init)
        except ConfigurationError as error:
            raise ConfigurationError(f"model.guide_init: {error}") from None
    weights = saved.state_dict()
    try:
        model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True)
    except RuntimeError as error:
        first_line = str(error).splitlines()[0]
        raise TrainingError(
            f"model.init_from={source}: its weights do not fit the configured model "
            f"({first_line}); configure the same model keys as its config.json"
        ) from None
