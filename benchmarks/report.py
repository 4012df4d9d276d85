"""Reports of the colorization benchmark: JSON record, CSV, Markdown, plots and image grid."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter
from measure import load_rgb

from pyramidrefine import metrics
from pyramidrefine.tasks import ColorizationTask
from pyramidrefine.tasks.colorization import AB_SCALE
from pyramidrefine.tiling import tile_borders

# (column, Markdown header, format)
COLUMNS = [
    ("dataset", "data", "{}"),
    ("size", "size", "{}"),
    ("method", "method", "{}"),
    ("weights", "weights", "{}"),
    ("height", "H", "{}"),
    ("width", "W", "{}"),
    ("seconds", "time (s)", "{:.3g}"),
    ("peak_mb", "peak mem (MB)", "{:.0f}"),
    ("forward_mb", "forward Δmem (MB)", "{:.0f}"),
    ("gflop", "GFLOP", "{:.3g}"),
    ("gflop_per_s", "GFLOP/s", "{:.3g}"),
    ("l1_ab", "L1(ab) ↓", "{:.4f}"),
    ("ssim", "SSIM ↑", "{:.4f}"),
    ("psnr", "PSNR (dB) ↑", "{:.2f}"),
    ("colourfulness", "colourfulness", "{:.1f}"),
    ("colourfulness_true", "truth's", "{:.1f}"),
    ("seam_index", "seam index", "{:.3f}"),
    ("seam_own_borders", "own borders", "{}"),
    ("bleeding", "bleeding ↓", "{:.3f}"),
    ("bleeding_true", "truth's", "{:.3f}"),
    ("small_l1_ab", "small-region L1(ab) ↓", "{:.4f}"),
    ("small_chroma_ratio", "small-region chroma ÷ truth", "{:.2f}"),
    ("images", "images", "{}"),
    ("status", "status", "{}"),
]
QUALITY = [
    ("l1_ab", "L1(ab) ↓"),
    ("ssim", "SSIM ↑"),
    ("psnr", "PSNR (dB) ↑"),
    ("colourfulness", "colourfulness"),
    ("seam_index", "seam index (≈1: no seams)"),
    ("bleeding", "colour bleeding ↓"),
    ("small_l1_ab", "L1(ab), small saturated regions ↓"),
]


def write_reports(
    record: dict[str, Any],
    out: Path,
    *,
    grid_image: list[tuple[str, str]],
    predictions: dict[str, Path],
) -> None:
    """Every output file of a benchmark run into ``out``."""
    (out / "results.json").write_text(json.dumps(record, indent=2, default=str))
    write_csv(record["results"], out / "results.csv")
    (out / "results.md").write_text(markdown(record))
    ok = [row for row in record["results"] if row.get("status") == "ok"]
    plot_cost(ok, "seconds", "median runtime (s)", out / "runtime.png")
    plot_cost(ok, "peak_mb", "peak memory, process RSS (MB)", out / "memory.png")
    plot_quality(ok, out / "quality.png")
    if grid_image and predictions:
        save_grid(grid_image[0][1], predictions, record["settings"], out / "grid.png")


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """One line per (data set, size, method)."""
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, [name for name, _, _ in COLUMNS], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _cell(row: dict[str, Any], name: str, form: str) -> str:
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return form.format(value)


def markdown(record: dict[str, Any]) -> str:
    """The tables of ``results.md``: results, targets, generator efficiency, setting."""
    lines = ["# Colorization benchmark", ""]
    if record["smoke"]:
        lines += [
            "**SMOKE RUN: the models are tiny and trained for a few steps on the benchmark's "
            "own images. The numbers check the pipeline; they say nothing about the method.**",
            "",
        ]
    machine = record["machine"]
    lines += [
        f"{machine['cpu']}, {machine['logical_cores']} logical cores, "
        f"{machine['torch_threads']} torch threads, device {machine['device']}, "
        f"torch {machine['torch']}, precision {record['settings']['precision']}. "
        f"Settings: {_settings_line(record['settings'])}.",
        "",
        "## Headline",
        "",
        *headline_lines(record["results"]),
        "",
        "## All results",
        "",
        _table(record["results"], COLUMNS),
        "",
        "## Targets",
        "",
        _table(targets(record["results"]), TARGET_COLUMNS),
        "",
        "## Generator efficiency",
        "",
        "Matmul GFLOP/s of this machine: "
        + ", ".join(
            f"{k} {v:.0f}" for k, v in record["matmul_gflop_per_s"].items() if k != "error"
        ),
        "",
        _table(record["efficiency"], EFFICIENCY_COLUMNS),
        "",
    ]
    return "\n".join(lines)


def _settings_line(settings: dict[str, Any]) -> str:
    keys = ("patch_tile", "pyramid_tile", "overlap", "lowres_size", "repeats")
    return ", ".join(f"{key}={settings[key]}" for key in keys)


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    if not rows:
        return "(none)"
    header = "| " + " | ".join(title for _, title, _ in columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = [
        "| " + " | ".join(_cell(row, name, form) for name, _, form in columns) + " |"
        for row in rows
    ]
    return "\n".join([header, rule, *body])


HEADLINE_COLUMNS = [
    ("method", "method", "{}"),
    ("seconds", "time (s)", "{:.3g}"),
    ("time_ratio", "× baseline", "{:.2f}"),
    ("peak_mb", "peak mem (MB)", "{:.0f}"),
    ("memory_ratio", "× baseline", "{:.2f}"),
    ("forward_mb", "forward Δmem (MB)", "{:.0f}"),
    ("l1_ab", "L1(ab) ↓", "{:.4f}"),
    ("ssim", "SSIM ↑", "{:.4f}"),
    ("psnr", "PSNR (dB) ↑", "{:.2f}"),
    ("colourfulness", "colourfulness", "{:.1f}"),
    ("seam_index", "seam index", "{:.3f}"),
    ("bleeding", "bleeding ↓", "{:.3f}"),
    ("small_l1_ab", "small-region L1(ab) ↓", "{:.4f}"),
    ("small_chroma_ratio", "small-region chroma ÷ truth", "{:.2f}"),
]


def headline_lines(rows: list[dict[str, Any]]) -> list[str]:
    """A caption and a table: every method at the largest size measured, on the native
    photos (``hires``) when there are any, with time and memory relative to the baseline."""
    ok = [row for row in rows if row.get("status") == "ok"]
    if not ok:
        return ["(none)"]
    dataset = "hires" if any(row["dataset"] == "hires" for row in ok) else ok[0]["dataset"]
    size = max(row["size"] for row in ok if row["dataset"] == dataset)
    chosen = [row for row in ok if (row["dataset"], row["size"]) == (dataset, size)]
    baseline = next((row for row in chosen if row["method"] == "baseline"), None)
    if baseline is not None:
        chosen = [
            row
            | {
                "time_ratio": row["seconds"] / baseline["seconds"],
                "memory_ratio": row["peak_mb"] / baseline["peak_mb"],
            }
            for row in chosen
        ]
    caption = f"Long side {size} px, data set `{dataset}` ({chosen[0]['images']} photos)."
    return [caption, "", _table(chosen, HEADLINE_COLUMNS)]


EFFICIENCY_COLUMNS = [
    ("size", "input", "{}²"),
    ("precision", "precision", "{}"),
    ("channels_last", "channels_last", "{}"),
    ("gflop", "GFLOP", "{:.3g}"),
    ("seconds", "time (s)", "{:.3g}"),
    ("gflop_per_s", "GFLOP/s", "{:.3g}"),
    ("fraction_of_matmul", "of matmul peak", "{:.0%}"),
    ("error", "status", "{}"),
]
TARGET_COLUMNS = [
    ("target", "target", "{}"),
    ("dataset", "data", "{}"),
    ("size", "size", "{}"),
    ("value", "measured", "{:.3f}"),
    ("limit", "limit", "{}"),
    ("met", "met", "{}"),
]


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The claims of docs/benchmarks.md, checked on every size and data set they cover."""
    table = {(r["dataset"], r["size"], r["method"]): r for r in rows if r.get("status") == "ok"}
    checks = []
    for (dataset, size, method), row in sorted(table.items()):
        baseline = table.get((dataset, size, "baseline"))
        lowres = table.get((dataset, size, "lowres"))
        if method == "pyramid-tiled" and row.get("seam_own_borders"):
            checks.append(_check("seam index of pyramid-tiled", row, row["seam_index"], "≤ 1.05"))
        if not method.startswith("pyramid") or size < 1024:
            continue
        if baseline is not None:
            l1 = row["l1_ab"] / baseline["l1_ab"]
            checks.append(_check(f"{method} L1(ab) / baseline", row, l1, "≤ 0.95"))
            if method == "pyramid-tiled" and size == 4096:
                ratio = row["peak_mb"] / baseline["peak_mb"]
                checks.append(_check("pyramid-tiled peak memory / baseline", row, ratio, "≤ 0.25"))
        if lowres is not None and method == "pyramid-tiled":
            if size >= 2048:
                l1 = row["l1_ab"] / lowres["l1_ab"]
                checks.append(_check("pyramid-tiled L1(ab) / lowres", row, l1, "< 1"))
            bleeding = row["bleeding"] / lowres["bleeding"]
            checks.append(_check("pyramid-tiled bleeding / lowres", row, bleeding, "< 1"))
    return checks


def _check(name: str, row: dict[str, Any], value: float, limit: str) -> dict[str, Any]:
    relation, bound = limit.split()
    compare = {"≤": float.__le__, "<": float.__lt__, "≥": float.__ge__}[relation]
    met = compare(float(value), float(bound))
    return {
        "target": name,
        "dataset": row["dataset"],
        "size": row["size"],
        "value": value,
        "limit": limit,
        "met": "yes" if met else "no",
    }


def plot_cost(rows: list[dict[str, Any]], key: str, label: str, path: Path) -> None:
    """``key`` against image size per method, log-log (first data set's rows)."""
    figure = Figure(figsize=(6, 4.5))
    axes = figure.subplots()
    first = rows[0]["dataset"] if rows else None
    for method in dict.fromkeys(r["method"] for r in rows):
        points = [
            (r["size"], r[key]) for r in rows if r["method"] == method and r["dataset"] == first
        ]
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", label=method)
    axes.set(xscale="log", yscale="log", xlabel="long side (px)", ylabel=label)
    axes.set_xticks(sorted({r["size"] for r in rows}), labels=sorted({r["size"] for r in rows}))
    axes.xaxis.set_minor_formatter(NullFormatter())  # only the measured sizes are labelled
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def plot_quality(rows: list[dict[str, Any]], path: Path) -> None:
    """Bars of every quality metric: one panel per (data set, metric), sizes × methods."""
    datasets = list(dict.fromkeys(r["dataset"] for r in rows)) or ["–"]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    figure = Figure(figsize=(3.2 * len(QUALITY), 3 * len(datasets)))
    grid = figure.subplots(len(datasets), len(QUALITY), squeeze=False)
    width = 0.8 / max(1, len(methods))
    for axes_row, dataset in zip(grid, datasets, strict=True):
        sizes = sorted({r["size"] for r in rows if r["dataset"] == dataset})
        for axes, (key, title) in zip(axes_row, QUALITY, strict=True):
            for index, method in enumerate(methods):
                values = {
                    r["size"]: r[key]
                    for r in rows
                    if (r["dataset"], r["method"]) == (dataset, method)
                }
                heights = [values.get(size, math.nan) for size in sizes]
                axes.bar(
                    [i + index * width for i in range(len(sizes))], heights, width, label=method
                )
            axes.set_xticks([i + 0.4 - width / 2 for i in range(len(sizes))], labels=sizes)
            axes.set_title(f"{title}\n({dataset})", fontsize="small")
            _scale_axis(axes, key, [r[key] for r in rows if r["dataset"] == dataset])
    handles, labels = grid[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(methods), fontsize="small")
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    figure.savefig(path, dpi=110)


def _scale_axis(axes: Any, key: str, values: list[float]) -> None:
    """Zoom L1/SSIM/PSNR onto their range (the differences are the point); seam index on a
    log scale around its ideal 1, so that unblended tiles do not flatten the rest."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return
    if key == "seam_index":
        axes.set_yscale("log")
        axes.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    elif key in ("l1_ab", "ssim", "psnr", "small_l1_ab"):
        low, high = min(finite), max(finite)
        pad = 0.15 * (high - low) or 0.01 * abs(high) or 0.01
        axes.set_ylim(low - pad, high + pad)


def save_grid(
    truth_path: str, predictions: dict[str, Path], settings: dict[str, Any], path: Path
) -> None:
    """Input | each method | truth; below, zooms on a patchwise tile corner, on the truth's
    small saturated objects and on its strongest colour edges."""
    panels = {name: load_rgb(str(file)) for name, file in predictions.items()}
    truth = load_rgb(truth_path, max(next(iter(panels.values())).shape[-2:]))
    task = ColorizationTask()
    L, ab = task.prepare(truth)
    grey = task.render(L, torch.zeros_like(ab))
    panels = {"input (grey)": grey, **panels, "truth": truth}
    zooms = zoom_windows(ab * AB_SCALE, settings["patch_tile"])
    figure = Figure(figsize=(2.4 * len(panels), 2.5 * (1 + len(zooms))))
    grid = figure.subplots(1 + len(zooms), len(panels), squeeze=False)
    for column, (name, image) in enumerate(panels.items()):
        crops = [image[..., t : t + side, lf : lf + side] for _, t, lf, side in zooms]
        for row, picture in enumerate([image, *crops]):
            pixels = picture[0].permute(1, 2, 0).clamp(0, 1).numpy()
            grid[row, column].imshow(pixels, interpolation="antialiased" if row == 0 else "nearest")
            grid[row, column].set_axis_off()
        grid[0, column].set_title(name, fontsize="small")
    for row, (label, top, left, side) in enumerate(zooms, start=1):
        grid[row, 0].set_title(f"zoom: {label}, {side}² at ({left}, {top})", fontsize="x-small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def zoom_windows(ab: torch.Tensor, tile: int) -> list[tuple[str, int, int, int]]:
    """(label, top, left, side) of the grid's zooms: a patchwise tile corner, the densest
    small saturated objects and the strongest colour edges of the truth ``ab`` (Lab)."""
    height, width = ab.shape[-2:]
    side = max(8, min(height, width, tile // 2))
    windows = [("a tile corner", *zoom_window(height, width, tile))]
    small = metrics.small_saturated_regions(ab).float()
    if small.any():
        windows.append(("small saturated objects", *_densest_window(small, side)))
    steps = ab.diff(dim=-1).norm(dim=1, keepdim=True)[..., :-1, :]
    steps = steps + ab.diff(dim=-2).norm(dim=1, keepdim=True)[..., :, :-1]
    windows.append(("strongest colour edges", *_densest_window(steps, side)))
    return windows


def _densest_window(density: torch.Tensor, side: int) -> tuple[int, int, int]:
    """(top, left, side) of the ``side``² window holding the most of ``density``."""
    stride = max(1, side // 4)
    sums = torch.nn.functional.avg_pool2d(density, side, stride=stride)
    index = int(sums.flatten().argmax())
    top, left = divmod(index, sums.shape[-1])
    return top * stride, left * stride, side


def zoom_window(height: int, width: int, tile: int) -> tuple[int, int, int]:
    """(top, left, side) of a square crop centred on the patchwise tile corner nearest the
    image centre (the centre itself if the image is one tile)."""
    rows, cols = tile_borders(height, width, tile, 0)
    row = min(rows or [height // 2], key=lambda r: abs(r - height / 2))
    col = min(cols or [width // 2], key=lambda c: abs(c - width / 2))
    side = max(8, min(height, width, tile // 2))
    top = min(max(0, row - side // 2), height - side)
    left = min(max(0, col - side // 2), width - side)
    return top, left, side
