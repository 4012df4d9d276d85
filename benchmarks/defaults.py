"""Does ``colorize`` run fast and bounded by default? Default vs forced precisions, and tilings.

Colours one photo, resized (Lanczos) to each ``--sizes`` long side, with the settings below,
each in a fresh process, in one run. *Time*: median of ``--repeats`` calls of a
``Colorizer`` on the decoded photo (luminance, network, rendering to RGB, back to PIL)
after ``--warmup`` untimed calls. *Peak RSS*: the process's high-water mark over its whole
life: torch, the model, the photo and every call, i.e. what a user's machine must hold.

- ``default``: ``Colorizer()`` as shipped: precision auto, memory budget auto;
- ``fp32``, ``bf16``: the same with the precision forced;
- ``untiled``: precision auto, no memory budget (every level in one pass);
- ``tiled``: ``pyramid-tiled``, 512 px tiles one at a time (no memory budget);
- ``batched-tiled``: ``pyramid-tiled``, 512 px tiles in batches that fit the auto budget.

Example (the table in docs/benchmarks.md)::

    python benchmarks/defaults.py --photo PHOTO.jpg --sizes 4224 --repeats 2 \\
        --out docs/results/defaults-cpu
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SETTINGS: dict[str, dict[str, Any]] = {
    "default": {},
    "fp32": {"precision": "fp32"},
    "bf16": {"precision": "bf16"},
    "untiled": {"memory_budget": None},
    "tiled": {"method": "pyramid-tiled", "tile": 512, "memory_budget": None},
    "batched-tiled": {"method": "pyramid-tiled", "tile": 512},
}


def measure(photo: str, size: int, setting: str, args: argparse.Namespace) -> dict[str, Any]:
    """Colour the photo at ``size`` with ``setting`` and time it (runs in the child)."""
    import torch
    from PIL import Image

    import pyramidrefine as pr
    from pyramidrefine import profiling
    from pyramidrefine.geometry import scale_long_side
    from pyramidrefine.images import read_image

    image = read_image(photo).convert("RGB")
    image = image.resize(scale_long_side(*image.size, size), Image.Resampling.LANCZOS)
    colorizer = pr.Colorizer(args.model, **SETTINGS[setting])
    seconds = profiling.median_seconds(
        lambda: colorizer(image), repeats=args.repeats, warmup=args.warmup
    )
    model = colorizer.predict
    width, height = image.size
    finest = model.num_levels(height, width) - 1
    with torch.inference_mode(), colorizer.autocast():
        plan = model.tile_plan(finest, torch.zeros(1, 1, height, width))
    budget = colorizer.memory_budget
    return {
        "setting": setting,
        "options": SETTINGS[setting],
        "width": width,
        "height": height,
        "precision": colorizer.precision,
        "memory_budget_mb": None if budget is None else round(budget / 2**20),
        "finest_level_tile": plan.tile,
        "finest_level_batch": plan.batch_size,
        "seconds": seconds,
        "peak_rss_mb": round(profiling.peak_rss_mb()),
        "threads": torch.get_num_threads(),
    }


def run_child(size: int, setting: str, args: argparse.Namespace) -> dict[str, Any]:
    """One measurement in a fresh process."""
    command = [sys.executable, __file__, "--photo", args.photo, "--child", str(size), setting]
    command += ["--repeats", str(args.repeats), "--warmup", str(args.warmup)]
    command += ["--model", args.model] if args.model else []
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def table(results: list[dict[str, Any]]) -> str:
    """Markdown table; time relative to the fastest setting at the same size."""
    fastest = {}
    for r in results:
        fastest[r["width"]] = min(fastest.get(r["width"], float("inf")), r["seconds"])
    lines = [
        "| photo | setting | precision | finest level: tile × batch | time (s) "
        "| vs fastest | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        tile = r["finest_level_tile"]
        tiling = "one pass" if tile is None else f"{tile[0]}×{tile[1]} × {r['finest_level_batch']}"
        lines.append(
            f"| {r['width']}×{r['height']} | {r['setting']} | {r['precision']} | {tiling} "
            f"| {r['seconds']:.2f} | {r['seconds'] / fastest[r['width']]:.2f}× "
            f"| {r['peak_rss_mb']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", required=True, help="the photo to colour")
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 4224], help="long sides")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--repeats", type=int, default=3, help="timed calls (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls before them")
    parser.add_argument("--model", help="model folder (default: the shipped colorizer)")
    parser.add_argument(
        "--out", type=Path, help="folder for results-SIZES.json and results-SIZES.md"
    )
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "SETTING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.photo, int(args.child[0]), args.child[1], args)))
        return

    from tqdm import tqdm

    from pyramidrefine import hardware, profiling

    runs = [(size, setting) for size in args.sizes for setting in args.settings]
    results = [run_child(size, s, args) for size, s in tqdm(runs, desc="defaults", unit="run")]
    markdown = table(results)
    print(markdown)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        record = {
            "command": " ".join(sys.argv),
            "machine": profiling.machine_info("cpu"),
            "cpu_native_bf16": hardware.cpu_has_native_bf16(),
            "photo": args.photo,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "results": results,
        }
        name = "results-" + "-".join(map(str, args.sizes))
        (args.out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        (args.out / f"{name}.md").write_text(markdown + "\n")


if __name__ == "__main__":
    main()
