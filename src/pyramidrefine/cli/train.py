"""``pyramidrefine train``: train a model from a YAML config, with KEY=VALUE overrides."""

from __future__ import annotations

import argparse
import dataclasses
import json
import textwrap

from .arguments import add_command
from .evaluate import print_metrics

HELP = "train a model from a YAML config"
DESCRIPTION = """\
Train a CoarseToFine model from a YAML config (see configs/), with KEY=VALUE overrides;
data.train=PATH (the training photos) is required. The default objective is L1; a GAN
stage is opt-in (loss.gan=vanilla), after L1 warm-up steps (loss.pretrain_steps).
Everything goes into output_dir (default: a new runs/TASK-YYYYmmdd-HHMMSS): config.yaml
(the resolved config), metrics.csv, samples/step-*.png (validation grids), checkpoints/
and model/ (config.json + model.safetensors + training.yaml: what evaluate, export and
colorize --model take). The same command resumes from the newest checkpoint; a config
that changes the experiment is refused there (--fresh starts over). Under
`accelerate launch` or `torchrun` it trains on every process.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``train`` subcommand."""
    train = add_command(commands, "train", HELP, DESCRIPTION, config_keys_help())
    train.add_argument(
        "--config",
        metavar="YAML",
        help="config file, e.g. configs/colorize-pyramid.yaml (default: the built-in "
        "defaults, which need data.train=...)",
    )
    train.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="override config keys; values are YAML, e.g. max_steps=100 data.batch_size=4 "
        "model.levels=null",
    )
    train.add_argument(
        "--fresh",
        action="store_true",
        help="start over in output_dir: delete its checkpoints, metrics, samples and model "
        "(the same as resume=false)",
    )


def run(args: argparse.Namespace) -> int:
    """Train (or resume) the run that ``args`` describe; returns the exit code."""
    from ..training import Trainer, load_config

    fresh = ["resume=false"] if args.fresh else []
    trainer = Trainer(load_config(args.config, [*args.overrides, *fresh]))
    metrics = trainer.fit()
    if metrics:
        print_metrics(metrics, trainer.task.reference_name)
    if not trainer.steps_run:
        print(
            f"nothing to train: {trainer.output_dir} is already at step {trainer.state.step} "
            f"(max_steps={trainer.config.max_steps}); raise max_steps to continue"
        )
    model = trainer.output_dir / "model"
    if (model / "model.safetensors").is_file():
        print(f"model: {model}")
    return 0


def config_keys_help() -> str:
    """The epilog of ``train``: every config key with its default, section by section."""
    from ..training.config import TrainConfig

    lines = [
        "config keys (KEY=VALUE, or nested in the YAML; the dataclasses in",
        "pyramidrefine/training/config.py describe each):",
    ]
    sections = []
    top = []
    for field in dataclasses.fields(TrainConfig):
        default = _default(field)
        if dataclasses.is_dataclass(default):
            entries = [f"{f.name}={_yaml(_default(f))}" for f in dataclasses.fields(default)]
            sections.append((f"{field.name}.", entries))
        else:
            top.append(f"{field.name}={_yaml(default)}")
    for name, entries in [("(top level)", top), *sections]:
        text = textwrap.fill(
            ", ".join(entries), width=88, initial_indent="  ", subsequent_indent="    "
        )
        lines += [f"{name}", text]
    lines += [
        "",
        "examples:",
        "  pyramidrefine train --config configs/colorize-pyramid.yaml data.train=photos/",
        "  pyramidrefine train --config configs/colorize-pyramid.yaml max_steps=200 \\",
        "      data.train=photos/ data.val=other-photos/ output_dir=runs/try",
        "  pyramidrefine train data.train=photos/ model.base_size=128 loss.gan=vanilla",
    ]
    return "\n".join(lines) + "\n"


def _default(field: dataclasses.Field):
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _yaml(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value or '""'
    return json.dumps(list(value) if isinstance(value, tuple) else value)
