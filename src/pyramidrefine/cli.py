"""Command line: ``pyramidrefine train | evaluate | export | colorize``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import colorize_cli
from .atomic import write_text_atomic
from .errors import PyramidRefineError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pyramidrefine`` command; returns the exit code."""
    parser = argparse.ArgumentParser(prog="pyramidrefine", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model from a YAML config")
    train.add_argument("--config", help="YAML file (see configs/); defaults if omitted")
    train.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="override config keys, e.g. max_steps=100 data.batch_size=4",
    )

    evaluate = commands.add_parser("evaluate", help="L1, SSIM, PSNR of a model vs its reference")
    evaluate.add_argument("--model", required=True, help="folder written by save_pretrained")
    evaluate.add_argument("--data", required=True, help="folder of colour photos (or dataset)")
    evaluate.add_argument(
        "--task",
        default=None,
        help="registered task; default: the one in the model's training.yaml, else colorization",
    )
    evaluate.add_argument("--max-images", type=int, default=None)
    evaluate.add_argument("--device", default="cpu")
    evaluate.add_argument(
        "--max-side",
        type=int,
        default=None,
        help="scale photos down to this long side first (default: native size)",
    )
    evaluate.add_argument(
        "--feature-distance",
        action="store_true",
        help="also the Fréchet distance on EfficientNet-Lite0 features, fd_effnet_lite0 "
        "(not Inception FID; needs the 'pretrained' extra)",
    )
    evaluate.add_argument("--json", help="also write the metrics to this JSON file")

    export = commands.add_parser("export", help="export a model's generators (ONNX/TorchScript)")
    export.add_argument("--model", required=True, help="folder written by save_pretrained")
    export.add_argument("--format", choices=("onnx", "torchscript"), default="onnx")
    export.add_argument("--out", help="output folder (default: MODEL/FORMAT)")
    export.add_argument("--tile", type=int, help="tile levels larger than this at run time")
    export.add_argument("--overlap", type=int, help="tile overlap (default: the model's)")

    colorize_cli.add_parser(commands)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "colorize":
            return colorize_cli.run(args)
        if args.command == "export":
            return _export(args)
        return _evaluate(args)
    except PyramidRefineError as error:
        print(f"pyramidrefine {args.command}: error: {error}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    from .registry import create_task
    from .training import load_config, train

    config = load_config(args.config, args.overrides)
    metrics = train(config)
    _print_metrics(metrics, create_task(config.task, **config.task_kwargs).reference_name)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate
    from .pyramid import CoarseToFine
    from .training.data import validation_images

    task = _task_of(args.model, args.task)
    model = CoarseToFine.from_pretrained(args.model).to(args.device).eval()
    images = validation_images(args.data, max_images=args.max_images, max_side=args.max_side)
    metrics = evaluate(model, images, task, feature_distance=args.feature_distance)
    _print_metrics(metrics, task.reference_name)
    if args.json:
        write_text_atomic(args.json, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    from .export import export
    from .pyramid import CoarseToFine

    model = CoarseToFine.from_pretrained(args.model)
    settings = {k: getattr(args, k) for k in ("tile", "overlap") if getattr(args, k) is not None}
    if settings:
        model = model.with_settings(**settings)
    out = Path(args.out or Path(args.model) / args.format)
    for path in export(model, out, args.format):
        print(path)
    return 0


def _task_of(model_dir: str, name: str | None):
    """The named task, else the one (with its settings) the model was trained on."""
    from .registry import create_task
    from .training import load_config

    training = Path(model_dir) / "training.yaml"
    if name is None and training.is_file():
        config = load_config(training)
        return create_task(config.task, **config.task_kwargs)
    return create_task(name or "colorization")


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
