"""The ``pyramidrefine`` command: train, evaluate, export, colorize and demo."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import textwrap
from pathlib import Path

from . import __version__, colorize_cli, models_cli, predict_cli
from .arguments import add_command, add_model_argument, non_negative, positive
from .atomic import ensure_writable_file, write_text_atomic
from .cli_options import add_common_options, apply_common_options
from .demo import cli as demo_cli
from .errors import INTERRUPTED_EXIT_CODE, ConfigurationError, PyramidRefineError
from .extras import install_command

DESCRIPTION = """\
Coarse-to-fine image-to-image refinement: run a generator over a pyramid of scales.
Each command has its own help: pyramidrefine COMMAND --help.
"""

EPILOG = """\
examples:
  pyramidrefine colorize examples/photos --out coloured      # the shipped colorizer
  pyramidrefine train --config configs/colorize-pyramid.yaml data.train=photos/
  pyramidrefine evaluate --model runs/colorize-pyramid/model --data photos/
  pyramidrefine export --model runs/colorize-pyramid/model --format onnx
  pyramidrefine demo                                        # a web page on 127.0.0.1
"""

TRAIN_HELP = "train a model from a YAML config"
TRAIN_DESCRIPTION = """\
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

EVALUATE_HELP = "metrics of a saved model vs its task's reference output"
EVALUATE_DESCRIPTION = """\
Measure a saved model on a folder of photos: the task's metrics of the model next to
those of the task's reference output, the floor to beat (colorization: L1(ab), SSIM,
PSNR and colourfulness vs the grey output; denoising: vs the noisy input).
Exit code 0, or 2 for usage, model or data errors.
"""

EVALUATE_EPILOG = """\
examples:
  pyramidrefine evaluate --model runs/colorize-pyramid/model --data photos/
  pyramidrefine evaluate --model my-colorizer --data photos/ --max-images 20 --max-side 1024 \\
      --json metrics.json
"""

EXPORT_HELP = "export a model's generators (ONNX or TorchScript)"
EXPORT_DESCRIPTION = """\
Export a saved model's generators for deployment, with pyramid.json holding what the
coarse-to-fine loop needs; the files written are printed, one a line. ONNX files run
without torch in pyramidrefine.onnx_runtime.OnnxCoarseToFine. Exporting and running ONNX
need the 'export' extra: {install}.
"""

EXPORT_EPILOG = """\
examples:
  pyramidrefine export --model my-colorizer                     # my-colorizer/onnx/
  pyramidrefine export --model my-colorizer --format torchscript --out deploy/
  pyramidrefine export --model my-colorizer --tile 512 --overlap 64
"""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pyramidrefine`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        apply_common_options(args)
        if args.command == "train":
            return _train(args)
        if args.command == "colorize":
            return colorize_cli.run(args)
        if args.command == "predict":
            return predict_cli.run(args)
        if args.command == "models":
            return models_cli.run(args)
        if args.command == "export":
            return _export(args)
        if args.command == "demo":
            return demo_cli.run(args)
        return _evaluate(args)
    except PyramidRefineError as error:
        print(f"pyramidrefine {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl+C before colorize's own summary, or in another command
        print(f"pyramidrefine {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="pyramidrefine",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_common_options(parser, command=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_evaluate(commands)
    _add_export(commands)
    colorize_cli.add_parser(commands)
    predict_cli.add_parser(commands)
    models_cli.add_parser(commands)
    demo_cli.add_parser(commands)
    for command in commands.choices.values():
        add_common_options(command, command=True)
    return parser


def _add_train(commands: argparse._SubParsersAction) -> None:
    train = add_command(commands, "train", TRAIN_HELP, TRAIN_DESCRIPTION, config_keys_help())
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


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    evaluate = add_command(
        commands, "evaluate", EVALUATE_HELP, EVALUATE_DESCRIPTION, EVALUATE_EPILOG
    )
    add_model_argument(evaluate, required=True)
    evaluate.add_argument(
        "--data",
        required=True,
        metavar="SOURCE",
        help="colour photos: a folder of images, a .parquet/.arrow file, a save_to_disk "
        "folder or a Hub dataset id",
    )
    evaluate.add_argument(
        "--task",
        default=None,
        help="registered task (colorization, denoising, ...); default: the one in the "
        "model's training.yaml, else colorization",
    )
    evaluate.add_argument(
        "--max-images",
        type=positive,
        default=None,
        metavar="N",
        help="evaluate the first N usable photos in the source's order (default: all)",
    )
    evaluate.add_argument(
        "--device",
        default=None,
        help="torch device, e.g. cpu, cuda, cuda:1 (default: cuda if available, else cpu)",
    )
    evaluate.add_argument(
        "--max-side",
        type=positive,
        default=None,
        metavar="PIXELS",
        help="scale photos down to this long side first (default: native size)",
    )
    evaluate.add_argument(
        "--feature-distance",
        action="store_true",
        help="also the Fréchet distance on EfficientNet-Lite0 features, fd_effnet_lite0 "
        "(not Inception FID; needs the 'pretrained' extra)",
    )
    evaluate.add_argument(
        "--json", metavar="FILE", help="also write the metrics to this JSON file (atomically)"
    )


def _add_export(commands: argparse._SubParsersAction) -> None:
    description = EXPORT_DESCRIPTION.format(install=install_command("export"))
    export = add_command(commands, "export", EXPORT_HELP, description, EXPORT_EPILOG)
    add_model_argument(export, required=True)
    export.add_argument(
        "--format",
        choices=("onnx", "torchscript"),
        default="onnx",
        help="onnx: one .onnx file per generator, opset 18, dynamic batch/height/width "
        "(needs the 'export' extra); torchscript: traced .pt files (default: %(default)s)",
    )
    export.add_argument(
        "--out",
        metavar="DIR",
        help="output folder, created if needed (default: MODEL/FORMAT inside a model folder, "
        "NAME-FORMAT in the current folder for a Hub id owner/NAME)",
    )
    export.add_argument(
        "--tile",
        type=positive,
        metavar="PIXELS",
        help="written to pyramid.json: run levels larger than this tile by tile "
        "(default: the model's, usually none)",
    )
    export.add_argument(
        "--overlap",
        type=non_negative,
        metavar="PIXELS",
        help="written to pyramid.json: minimum overlap of neighbouring tiles, less than "
        "--tile (default: the model's)",
    )


def config_keys_help() -> str:
    """The epilog of ``train``: every config key with its default, section by section."""
    from .training.config import TrainConfig

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


def _train(args: argparse.Namespace) -> int:
    from .training import Trainer, load_config

    fresh = ["resume=false"] if args.fresh else []
    trainer = Trainer(load_config(args.config, [*args.overrides, *fresh]))
    metrics = trainer.fit()
    if metrics:
        _print_metrics(metrics, trainer.task.reference_name)
    if not trainer.steps_run:
        print(
            f"nothing to train: {trainer.output_dir} is already at step {trainer.state.step} "
            f"(max_steps={trainer.config.max_steps}); raise max_steps to continue"
        )
    model = trainer.output_dir / "model"
    if (model / "model.safetensors").is_file():
        print(f"model: {model}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .devices import resolve_device
    from .evaluation import evaluate
    from .pretrained import load_model, model_task
    from .training.data import validation_images

    if args.json:
        ensure_writable_file(args.json)  # before the work, not after it
    device = resolve_device(args.device)
    task = model_task(args.model, args.task)
    model = load_model(args.model, device=device)
    images = validation_images(args.data, max_images=args.max_images, max_side=args.max_side)
    metrics = evaluate(model, images, task, feature_distance=args.feature_distance)
    _print_metrics(metrics, task.reference_name)
    if args.json:
        write_text_atomic(args.json, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    from .export import export
    from .pretrained import is_packaged, load_model

    model = load_model(args.model)
    settings = {k: getattr(args, k) for k in ("tile", "overlap") if getattr(args, k) is not None}
    overlap = settings.get("overlap", model.overlap)
    tile = settings.get("tile", model.tile)
    if tile is not None and overlap >= tile:
        raise ConfigurationError(
            f"the overlap ({overlap}) must be less than the tile ({tile}); "
            "raise --tile or pass a smaller --overlap"
        )
    if settings:
        model = model.with_settings(**settings)
    out = Path(args.out or default_export_folder(args.model, args.format))
    if is_packaged(out):
        raise ConfigurationError(
            f"--out {out} is inside the installed pyramidrefine package; give a folder elsewhere"
        )
    for path in export(model, out, args.format):
        print(path)
    return 0


def default_export_folder(model: str, format: str) -> Path:
    """MODEL/FORMAT inside a local model folder; NAME-FORMAT in the current folder for a
    shipped model's name, a folder inside the installed package or a Hub id owner/NAME."""
    from .pretrained import is_packaged, resolve_model

    folder = resolve_model(model)
    if Path(folder).expanduser().is_dir():
        folder = Path(folder).expanduser()
        return Path(f"{folder.resolve().name}-{format}") if is_packaged(folder) else folder / format
    return Path(f"{model.rstrip('/').rsplit('/', 1)[-1]}-{format}")


def _print_metrics(metrics: dict[str, float], reference: str = "grey") -> None:
    suffix = f"_{reference}"
    names = sorted({k.removesuffix(suffix) for k in metrics})
    width = max(len(name) for name in [*names, "metric"]) + 2
    print(f"{'metric':<{width}}{'model':>10}{reference:>10}")
    for name in names:
        value = metrics.get(f"{name}{suffix}")
        value_text = f"{value:>10.4f}" if value is not None else ""
        print(f"{name:<{width}}{metrics[name]:>10.4f}{value_text}")


if __name__ == "__main__":
    sys.exit(main())
