"""What ``max_network_side`` costs in colour: photos larger than the side coloured with the
network on the whole photo (``none``) and up to each side, against their true colours.

Per photo and side: the call's seconds, L1 of normalised ab against the truth, the hue
hit rate, colourfulness over the truth's, and the mean ab distance (Lab units) to the
whole-size result; all at the photo's native size, shipped colorizer, default settings
otherwise. Example::

    python benchmarks/network_side.py ../shared/data/hires/Kleiber_by_Lukas_Baubkus.jpg \
        --sides none 4096 2048 --out docs/results/network-side
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from kornia.color import rgb_to_lab
from PIL import Image

import pyramidrefine as pr
from pyramidrefine import metrics, profiling
from pyramidrefine.images import to_tensor


def side(text: str) -> int | None:
    """A long side, or ``none``."""
    return None if text == "none" else int(text)


def measure(photo: Path, sides: list[int | None]) -> list[dict]:
    """One row per side for ``photo``."""
    truth, _ = to_tensor(Image.open(photo).convert("RGB"))
    grey = Image.open(photo).convert("L")
    true_ab = rgb_to_lab(truth)[:, 1:]
    rows, whole = [], None
    for network_side in sides:
        colorizer = pr.Colorizer(max_network_side=network_side)
        start = time.perf_counter()
        coloured, _ = to_tensor(colorizer(grey))
        seconds = time.perf_counter() - start
        ab = rgb_to_lab(coloured)[:, 1:]
        whole = ab if whole is None else whole
        hits, saturated = metrics.hue_hits(ab, true_ab)
        rows.append(
            {
                "photo": photo.name,
                "size": list(grey.size),
                "max_network_side": network_side,
                "seconds": seconds,
                "l1_ab": metrics.l1(ab / 110, true_ab / 110),
                "hue_hit_rate": hits / max(saturated, 1),
                "colourfulness_ratio": metrics.colourfulness(coloured)
                / metrics.colourfulness(truth),
                "ab_distance_to_first": float(torch.linalg.vector_norm(ab - whole, dim=1).mean()),
            }
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, nargs="+")
    parser.add_argument("--sides", type=side, nargs="+", default=[None, 4096, 2048])
    parser.add_argument("--out", type=Path, help="write results.json (the table inside) here")
    args = parser.parse_args()
    rows = [row for photo in args.photos for row in measure(photo, args.sides)]
    lines = [
        "| photo | max_network_side | seconds | L1(ab) | hue hits | colourfulness × truth | "
        "ab distance to the first row |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        width, height = row["size"]
        lines.append(
            f"| {row['photo']} ({width}×{height}) | {row['max_network_side'] or 'none'} | "
            f"{row['seconds']:.1f} | {row['l1_ab']:.4f} | {row['hue_hit_rate']:.3f} | "
            f"{row['colourfulness_ratio']:.2f} | {row['ab_distance_to_first']:.2f} |"
        )
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        record = {"machine": profiling.machine_info(), "rows": rows, "table": "\n".join(lines)}
        (args.out / "results.json").write_text(json.dumps(record, indent=2, default=str))


if __name__ == "__main__":
    main()
