"""Colorization benchmark: quality, runtime, memory and GFLOP/s of every inference method.

Every (method, size) runs in its own process (see ``measure.py``) so that its peak memory
is its own. Writes ``results.csv``, ``results.md``, ``results.json`` (machine, versions,
settings and every result), ``runtime.png``, ``memory.png``, ``quality.png`` and
``grid.png`` into ``--out``, with the grid's panels in ``grid-predictions/`` and every
finished measurement in ``measurements.jsonl`` (``--resume`` continues an interrupted run
from it, see ``journal.py``). Without ``--pyramid-model``/``--baseline-model`` it first
trains a smoke-sized pair on the benchmark's own images (labelled as smoke). Example::

    python benchmarks/run.py --data ../shared/data/photos/BSD100 --hires ../shared/data/hires \\
        --pyramid-model runs/colorize-pyramid/model \\
        --baseline-model runs/colorize-baseline/model --out benchmark-results
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import measure
import warm  # noqa: F401
import yaml
from journal import Journal
from measure import VARIANTS, method_options
from PIL import Image
from report import write_reports
from tqdm import tqdm

from pyramidrefine.choices import DEFAULT_OVERLAP, DEFAULT_TILE
from pyramidrefine.data import is_greyscale
from pyramidrefine.images import read_image

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parent / "configs"
QUICK = {
    "sizes": [256, 512],
    "max_images": 2,
    "pyramid_tile": 256,
    "efficiency_size": 256,
    "smoke_steps": 30,
    "smoke_size": 64,
}
# Each measurement runs in a process forked from this one, which has imported torch,
# pyramidrefine and what measurements import lazily (``warm``) but runs no torch operation
# before the measurements are done, so no thread pool is forked.
FORK = multiprocessing.get_context("fork")
SMOKE_GENERATOR = ["model.base_channels=8", "model.depth=3", "model.max_channels=32"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line; ``--quick`` fills in small defaults for anything not given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="colour photos, resized to every size")
    parser.add_argument("--hires", type=Path, help="high-resolution photos, only downscaled")
    parser.add_argument(
        "--data-max-size",
        type=int,
        help="largest size --data photos are resized to (default: every size)",
    )
    parser.add_argument("--methods", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--sizes", type=int, nargs="+", help="long sides (default 256 … 4096)")
    parser.add_argument("--out", type=Path, default=Path("benchmark-results"))
    parser.add_argument("--pyramid-model", type=Path, help="folder written by save_pretrained")
    parser.add_argument("--baseline-model", type=Path, help="folder written by save_pretrained")
    parser.add_argument("--max-images", type=int, help="per data set (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after a warm-up")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--patch-tile", type=int, help="default: the baseline's training size")
    parser.add_argument("--lowres-size", type=int, help="default: the patch tile")
    parser.add_argument(
        "--pyramid-tile", type=int, help=f"pyramid-tiled tile (default {DEFAULT_TILE})"
    )
    parser.add_argument(
        "--overlap", type=int, default=DEFAULT_OVERLAP, help="blending overlap (≤ tile/4)"
    )
    parser.add_argument("--efficiency-size", type=int, help="generator GFLOP/s input (1024)")
    parser.add_argument("--grid-size", type=int, help="size shown in grid.png")
    parser.add_argument(
        "--grid-dataset", choices=["data", "hires"], help="whose first photo grid.png shows"
    )
    parser.add_argument("--smoke-steps", type=int, help="steps of the smoke pair (200)")
    parser.add_argument("--smoke-size", type=int, help="training size of the smoke pair (128)")
    parser.add_argument("--quick", action="store_true", help="small settings: < 5 min on CPU")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the measurements journalled in --out by an earlier, interrupted run",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: report what --out's journal holds (implies --resume)",
    )
    args = parser.parse_args(argv)
    if args.data is None and args.hires is None:
        parser.error("give --data and/or --hires")
    defaults = QUICK if args.quick else {}
    full = {
        "sizes": [256, 512, 1024, 2048, 4096],
        "max_images": 8,
        "pyramid_tile": DEFAULT_TILE,
        "efficiency_size": 1024,
        "smoke_steps": 200,
        "smoke_size": 128,
    }
    for key, value in (full | defaults).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.sizes = sorted(set(args.sizes))
    return args


def image_files(folder: Path) -> list[tuple[Path, int]]:
    """The colour images of ``folder`` (sorted by name) with their long sides."""
    readable = {ext for ext, name in Image.registered_extensions().items() if name in Image.OPEN}
    found = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in readable):
        image = read_image(path)
        if not is_greyscale(image):
            found.append((path, max(image.size)))
    return found


def images_by_size(args: argparse.Namespace) -> dict[int, list[tuple[str, str]]]:
    """Per size, ``(data set, path)`` pairs: the first ``--max-images`` of ``--data`` (up to
    ``--data-max-size``), and of ``--hires`` the first that are at least that large."""
    sources = {"data": args.data, "hires": args.hires}
    files = {name: image_files(folder) for name, folder in sources.items() if folder}
    chosen: dict[int, list[tuple[str, str]]] = {}
    for size in args.sizes:
        chosen[size] = []
        for name, found in files.items():
            if name == "data" and size > (args.data_max_size or size):
                continue
            fitting = [path for path, side in found if name == "data" or side >= size]
            chosen[size] += [(name, str(path)) for path in fitting[: args.max_images]]
    return chosen


def train_smoke_pair(args: argparse.Namespace, folder: Path) -> dict[str, Path]:
    """A tiny baseline and pyramid trained alike on the benchmark's own images."""
    source = args.data or args.hires
    size = args.smoke_size
    shape = {
        "baseline": [f"data.image_size={size}"],
        "pyramid": [f"data.image_size={2 * size}", f"model.base_size={size // 2}"],
    }
    models = {}
    for name, overrides in shape.items():
        run = folder / name
        overrides = [
            f"output_dir={run}",
            f"data.train={source}",
            "data.val=null",
            "data.val_fraction=0",
            "data.num_workers=0",
            "data.batch_size=2",
            f"max_steps={args.smoke_steps}",
            f"checkpoint_every={args.smoke_steps}",
            f"validate_every={args.smoke_steps}",
            "mixed_precision='no'",  # quoted: YAML reads a bare no as false
            "loss.discriminator=null",
            "optim.warmup_steps=0",
            *SMOKE_GENERATOR,
            *overrides,
        ]
        try:
            in_fork(train_quietly, CONFIGS / f"colorize-{name}.yaml", overrides, args.threads)
        except Exception as error:
            raise SystemExit(f"training the smoke {name} failed: {error}") from None
        models[name] = run / "model"
    return models


def train_quietly(config: Path, overrides: list[str], threads: int | None) -> None:
    """Train from ``config`` with ``overrides``, its progress bars and logs silenced."""
    import torch

    from pyramidrefine.training import load_config, train

    if threads:
        torch.set_num_threads(threads)
    with (
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        train(load_config(config, overrides))


def resolve_models(args: argparse.Namespace, scratch: Path) -> tuple[dict[str, Path], bool]:
    """The two models (either stands in for a missing other), and whether they are smoke."""
    given = {"pyramid": args.pyramid_model, "baseline": args.baseline_model}
    if not any(given.values()):
        return train_smoke_pair(args, scratch / "smoke-models"), True
    pyramid = given["pyramid"] or given["baseline"]
    return {"pyramid": pyramid, "baseline": given["baseline"] or pyramid}, False


def training_size(model: Path, fallback: int = 256) -> int:
    """``data.image_size`` of the training run that exported ``model``, if recorded."""
    config = model / "training.yaml"
    if not config.exists():
        return fallback
    return int(yaml.safe_load(config.read_text())["data"]["image_size"])


def settings_of(args: argparse.Namespace, models: dict[str, Path]) -> dict[str, int]:
    """Tile sizes, overlap and the low-res working size."""
    patch_tile = args.patch_tile or training_size(models["baseline"])
    return {
        "patch_tile": patch_tile,
        "pyramid_tile": args.pyramid_tile,
        "overlap": args.overlap,
        "lowres_size": args.lowres_size or patch_tile,
    }


def in_fork(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a process forked from this one."""
    with ProcessPoolExecutor(1, mp_context=FORK) as pool:
        return pool.submit(fn, *args).result()


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """:func:`measure.run_spec` in a fresh process; an ``error`` key if it failed."""
    try:
        return in_fork(measure.run_spec, spec)
    except BrokenProcessPool:
        return {"error": "killed (out of memory?)"}
    except Exception as error:  # reported in the results, the other runs go on
        return {"error": f"{type(error).__name__}: {error}"}


def measure_methods(
    args: argparse.Namespace,
    journal: Journal,
    models: dict[str, Path],
    settings: dict[str, int],
    images: dict[int, list[tuple[str, str]]],
) -> tuple[list[dict[str, Any]], dict[str, Path]]:
    """One child per (size, method): result rows per data set, and the grid's predictions
    (PNGs in ``--out``/grid-predictions)."""
    (args.out / "grid-predictions").mkdir(exist_ok=True)
    rows, predictions = [], {}
    runs = [(size, method) for size in args.sizes for method in args.methods]
    progress = tqdm(runs, desc="methods", unit="run")
    for size, method in progress:
        progress.set_postfix_str(f"{method} @ {size}")
        if not images[size]:
            continue
        saved = args.out / "grid-predictions" / f"{method}-{size}.png"
        saved = saved if size == args.grid_size else None
        spec = {
            "kind": "method",
            "method": method,
            "size": size,
            "model": str(models[VARIANTS[method].weights]),
            "options": method_options(method, settings),
            "settings": settings,
            "images": images[size],
            "repeats": args.repeats,
            "device": args.device,
            "precision": args.precision,
            "threads": args.threads,
            "save_prediction": str(saved) if saved else None,
            "grid_index": grid_index(args, images[size]),
        }
        result = journal.measure(spec, run_child)
        rows += result_rows(method, size, VARIANTS[method].weights, images[size], result)
        if saved is not None and saved.exists():
            predictions[method] = saved
    return rows, predictions


def grid_index(args: argparse.Namespace, images: list[tuple[str, str]]) -> int:
    """Index in ``images`` of the photo that grid.png shows: the first of ``--grid-dataset``
    (default: ``hires`` when given, a native photo rather than an enlarged one)."""
    wanted = args.grid_dataset or ("hires" if args.hires else "data")
    return next((i for i, (dataset, _) in enumerate(images) if dataset == wanted), 0)


def result_rows(
    method: str,
    size: int,
    weights: str,
    images: list[tuple[str, str]],
    result: dict[str, Any],
) -> list[dict[str, Any]]:
    """Flatten one child's result into one row per data set."""
    base = {"size": size, "method": method, "weights": weights}
    datasets = sorted({dataset for dataset, _ in images})
    if "error" in result:
        return [base | {"dataset": d, "status": result["error"]} for d in datasets]
    cost = {k: v for k, v in result.items() if k != "quality"}
    return [
        base | {"dataset": d, "status": "ok"} | cost | result["quality"][d]
        for d in datasets
        if d in result["quality"]
    ]


def measure_efficiency(
    args: argparse.Namespace, journal: Journal, models: dict[str, Path]
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Matmul GFLOP/s of the machine and the generator's at each precision and layout."""
    common = {"device": args.device, "threads": args.threads, "repeats": args.repeats}
    precisions = ["fp32", "bf16"]
    matmul_size = 1024 if args.quick else 2048
    matmul_spec = {"kind": "matmul", "size": matmul_size, "precisions": precisions} | common
    matmul = journal.measure(matmul_spec, run_child)
    efficiency = []
    combos = [(p, layout) for p in precisions for layout in (False, True)]
    for precision, channels_last in tqdm(combos, desc="generator GFLOP/s", unit="run"):
        spec = {
            "kind": "generator",
            "model": str(models["pyramid"]),
            "size": args.efficiency_size,
            "precision": precision,
            "channels_last": channels_last,
        }
        result = dict(journal.measure(spec | common, run_child))
        peak = matmul.get(precision)
        if "error" not in result and peak:
            result["fraction_of_matmul"] = result["gflop_per_s"] / peak
        efficiency.append(
            {"size": args.efficiency_size, "precision": precision, "channels_last": channels_last}
            | result
        )
    return matmul, efficiency


def versions() -> dict[str, str]:
    """Versions of the packages the numbers depend on, and the git commit."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("pyramidrefine", "torch", "numpy", "kornia", "torchmetrics", "pillow"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    commit = subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    found["git_commit"] = commit.stdout.strip() or "unknown"
    return found


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    images = images_by_size(args)
    if args.grid_size is None:
        args.grid_size = max([s for s in args.sizes if s <= 1024] or args.sizes[:1])
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        clock = Stopwatch()
        models, smoke = resolve_models(args, scratch)
        clock.lap("smoke training" if smoke else "models")
        settings = settings_of(args, models)
        journal = Journal(
            args.out / "measurements.jsonl",
            resume=args.resume or args.report_only,
            measure_missing=not args.report_only,
        )
        rows, predictions = measure_methods(args, journal, models, settings, images)
        clock.lap("methods")
        matmul, efficiency = measure_efficiency(args, journal, models)
        clock.lap("efficiency")
        record = {
            "smoke": smoke,
            "machine": _machine(args),
            "versions": versions(),
            "settings": _arguments(args) | settings | {"models": _strings(models)},
            "durations_s": clock.laps,
            "measurements_reused": journal.reused,
            "matmul_gflop_per_s": matmul,
            "efficiency": efficiency,
            "results": rows,
        }
        write_reports(
            record,
            args.out,
            grid_image=grid_photo(args, images[args.grid_size]),
            predictions=predictions,
        )
    print(f"wrote {args.out}: {clock.laps}")


def grid_photo(args: argparse.Namespace, images: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The photo grid.png shows, as a list of one (or none)."""
    return images[grid_index(args, images) :][:1]


def _machine(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from pyramidrefine.profiling import machine_info

    if args.threads:
        torch.set_num_threads(args.threads)
    return machine_info(args.device)


def _arguments(args: argparse.Namespace) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def _strings(paths: dict[str, Path]) -> dict[str, str]:
    return {key: str(path) for key, path in paths.items()}


class Stopwatch:
    """Seconds spent in each stage, for the record."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self.last, 1)
        self.last = now


if __name__ == "__main__":
    main()
