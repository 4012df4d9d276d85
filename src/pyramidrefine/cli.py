"""Command line: ``pyramidrefine train | evaluate | colorize``."""

from __future__ import annotations

import argparse
import logging
import sys

from . import colorize_cli
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

    evaluate = commands.add_parser("evaluate", help="L1(ab), SSIM, PSNR of a colorizer")
    evaluate.add_argument("--model", required=True, help="folder written by save_pretrained")
    evaluate.add_argument("--data", required=True, help="folder of colour photos (or dataset)")
    evaluate.add_argument("--max-images", type=int, default=None)
    evaluate.add_argument("--device", default="cpu")

    colorize_cli.add_parser(commands)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "colorize":
            return colorize_cli.run(args)
        return _evaluate(args)
    except PyramidRefineError as error:
        print(f"pyramidrefine {args.command}: error: {error}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    from .training import load_config, train

    metrics = train(load_config(args.config, args.overrides))
    _print_metrics(metrics)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_colorizer
    from .pyramid import CoarseToFine
    from .training.data import validation_images

    model = CoarseToFine.from_pretrained(args.model).to(args.device).eval()
    images = validation_images(args.data, max_images=args.max_images)
    _print_metrics(evaluate_colorizer(model, images))
    return 0


def _print_metrics(metrics: dict[str, float]) -> None:
    names = sorted({k.removesuffix("_grey") for k in metrics})
    print(f"{'metric':<14}{'model':>10}{'grey':>10}")
    for name in names:
        grey = metrics.get(f"{name}_grey")
        grey_text = f"{grey:>10.4f}" if grey is not None else ""
        print(f"{name:<14}{metrics[name]:>10.4f}{grey_text}")


if __name__ == "__main__":
    sys.exit(main())
