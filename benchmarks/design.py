"""Pyramid design choices compared at high resolution: generator layout, coarsest size,
training scheme.

Each ``--variant NAME=MODEL[@BASE_SIZE]`` runs as ``pyramid-tiled`` (the method that scales)
on the first ``--max-images`` native photos of ``--hires`` that reach each ``--sizes``
long side, every (variant, size) in a fresh process like ``run.py``. Writes
``design.json`` and ``design.md`` (a table per size) into ``--out``; finished measurements
are journalled in ``design-measurements.jsonl`` (a rerun with ``--resume`` reuses them).
Example::

    python benchmarks/design.py --hires ../shared/data/hires --sizes 2048 \\
        --variant shared-128=runs/pyramid/model --variant shared-256=runs/pyramid/model@256 \\
        --variant refiner=runs/refiner/model --out docs/results/design
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import report
from journal import Journal
from run import image_files, run_child
from tqdm import tqdm

from pyramidrefine.atomic import write_text_atomic

_MEASURED = ("seconds", "gflop", "peak_mb", "l1_ab", "ssim", "bleeding", "small_l1_ab")
COLUMNS = [
    ("variant", "variant", "{}"),
    ("base_size", "coarsest", "{}"),
    *[column for column in report.COLUMNS if column[0] in _MEASURED],
    ("colourfulness_ratio", "colourfulness ÷ truth", "{:.2f}"),
    *[column for column in report.COLUMNS if column[0] in ("small_chroma_ratio", "seam_index")],
]


def parse_variant(text: str) -> tuple[str, str, int | None]:
    """``NAME=MODEL[@BASE_SIZE]`` → (name, model folder, base size or None)."""
    name, _, rest = text.partition("=")
    model, _, base = rest.partition("@")
    if not name or not model:
        raise argparse.ArgumentTypeError(f"expected NAME=MODEL[@BASE_SIZE], got {text!r}")
    return name, model, int(base) if base else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hires", type=Path, required=True, help="native high-res photos")
    parser.add_argument("--variant", type=parse_variant, action="append", required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048])
    parser.add_argument("--max-images", type=int, default=4)
    parser.add_argument("--tile", type=int, default=512, help="pyramid-tiled tile")
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs after a warm-up")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--out", type=Path, default=Path("design-results"))
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    photos = image_files(args.hires)
    journal = Journal(args.out / "design-measurements.jsonl", resume=args.resume)
    settings = {"patch_tile": args.tile, "pyramid_tile": args.tile, "overlap": args.overlap}
    rows = []
    runs = [(size, variant) for size in args.sizes for variant in args.variant]
    for size, (name, model, base) in tqdm(runs, desc="variants", unit="run"):
        images = [("hires", str(p)) for p, side in photos if side >= size][: args.max_images]
        options = {"tile": args.tile, "overlap": args.overlap}
        spec = {
            "kind": "method",
            "method": "pyramid-tiled",
            "size": size,
            "model": model,
            "options": options | ({"base_size": base} if base else {}),
            "settings": settings,
            "images": images,
            "repeats": args.repeats,
            "device": "cpu",
            "precision": "fp32",
            "threads": args.threads,
        }
        result = journal.measure(spec, run_child)
        rows.append(row_of(name, model, base, size, result))
    write_text_atomic(args.out / "design.json", json.dumps(rows, indent=2))
    write_text_atomic(args.out / "design.md", markdown(rows))
    print(f"wrote {args.out / 'design.md'}")


def row_of(name: str, model: str, base: int | None, size: int, result: dict) -> dict[str, Any]:
    """One table row: cost and the mean quality on the photos."""
    row = {"variant": name, "model": model, "base_size": base or "model's", "size": size}
    if "error" in result:
        return row | {"status": result["error"]}
    quality = result["quality"]["hires"]
    ratio = quality["colourfulness"] / quality["colourfulness_true"]
    cost = {k: result[k] for k in ("seconds", "gflop", "peak_mb")}
    return row | {"status": "ok", "colourfulness_ratio": ratio} | cost | quality


def markdown(rows: list[dict[str, Any]]) -> str:
    """A table per size."""
    lines = ["# Pyramid design variants (pyramid-tiled, native photos)", ""]
    for size in dict.fromkeys(row["size"] for row in rows):
        chosen = [row for row in rows if row["size"] == size]
        images = next((row.get("images") for row in chosen if "images" in row), 0)
        lines += [f"## Long side {size} px ({images} photos)", ""]
        lines.append("| " + " | ".join(title for _, title, _ in COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        for row in chosen:
            cells = [
                form.format(row[key]) if key in row else row.get("status", "–")
                for key, _, form in COLUMNS
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
