"""``pyramidrefine evaluate``: the metrics of a saved model next to its task's reference output."""

from __future__ import annotations

import argparse
import json

from ..atomic import ensure_writable_file, write_text_atomic
from .arguments import add_command, add_model_argument, positive

HELP = "metrics of a saved model vs its task's reference output"
DESCRIPTION = """\
Measure a saved model on a folder of photos: the task's metrics of the model next to
those of the task's reference output, the floor to beat (colorization: L1(ab), SSIM,
PSNR and colourfulness vs the grey output; denoising: vs the noisy input).
Exit code 0, or 2 for usage, model or data errors.
"""

EPILOG = """\
examples:
  pyramidrefine evaluate --model runs/colorize-pyramid/model --data photos/
  pyramidrefine evaluate --model my-colorizer --data photos/ --max-images 20 --max-side 1024 \\
      --json metrics.json
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``evaluate`` subcommand."""
    evaluate = add_command(commands, "evaluate", HELP, DESCRIPTION, EPILOG)
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


def run(args: argparse.Namespace) -> int:
    """Evaluate the model on the photos that ``args`` name; returns the exit code."""
    from ..devices import resolve_device
    from ..evaluation import evaluate
    from ..pretrained import load_model, model_task
    from ..training.data import validation_images

    if args.json:
        ensure_writable_file(args.json)  # before the work, not after it
    device = resolve_device(args.device)
    task = model_task(args.model, args.task)
    model = load_model(args.model, device=device)
    images = validation_images(args.data, max_images=args.max_images, max_side=args.max_side)
    metrics = evaluate(model, images, task, feature_distance=args.feature_distance)
    print_metrics(metrics, task.reference_name)
    if args.json:
        write_text_atomic(args.json, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return 0


def print_metrics(metrics: dict[str, float], reference: str = "grey") -> None:
    """A table of the metrics: the model's next to the reference output's (``NAME_reference``)."""
    suffix = f"_{reference}"
    names = sorted({k.removesuffix(suffix) for k in metrics})
    width = max(len(name) for name in [*names, "metric"]) + 2
    print(f"{'metric':<{width}}{'model':>10}{reference:>10}")
    for name in names:
        value = metrics.get(f"{name}{suffix}")
        value_text = f"{value:>10.4f}" if value is not None else ""
        print(f"{name:<{width}}{metrics[name]:>10.4f}{value_text}")
