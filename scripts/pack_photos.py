"""Pack photos small into one Parquet file, for a machine the photo folders cannot reach.

Each photo is shrunk to ``--max-side`` (never enlarged), re-encoded as WebP and written as
the ``image`` column 🤗 datasets reads, so the file trains as ``data.train=FILE.parquet``.
A source ``DIR:N`` takes N of its photos, evenly spread over its sorted file names. Stops
before writing when the file would pass ``--budget-mb``. Example (the GPU session of
``scripts/gpu_session.sh``)::

    python scripts/pack_photos.py gpu/natural.parquet --max-side 576 \\
        ../shared/data/photos/{BSDS500,cq100,gcompris,Urban100,Set14,Set5}
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import datasets
from PIL import Image

from pyramidrefine.atomic import atomic_path
from pyramidrefine.data import is_greyscale
from pyramidrefine.images import readable_extensions


def source(value: str) -> tuple[Path, int | None]:
    folder, _, count = value.partition(":")
    return Path(folder), int(count) if count else None


def photos(folder: Path, count: int | None) -> list[Path]:
    """``count`` photos of ``folder`` (all when ``None``), evenly spread over its names."""
    readable = readable_extensions()
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in readable)
    if not files:
        raise SystemExit(f"{folder}: no photos found; give a folder of images")
    if count is None or count >= len(files):
        return files
    return [files[i * len(files) // count] for i in range(count)]


def encoded(path: Path, max_side: int, quality: int) -> bytes | None:
    """WebP bytes of the photo shrunk to ``max_side``; ``None`` for a greyscale one."""
    with Image.open(path) as image:
        image = image.convert("RGB")
    if is_greyscale(image):
        return None
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=quality, method=6)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the .parquet file to write")
    parser.add_argument("sources", type=source, nargs="+", help="DIR or DIR:N")
    parser.add_argument("--max-side", type=int, default=288)
    parser.add_argument("--quality", type=int, default=85, help="WebP quality")
    parser.add_argument("--budget-mb", type=float, default=40.0)
    args = parser.parse_args()
    rows, total = [], 0
    for folder, count in args.sources:
        for path in photos(folder, count):
            data = encoded(path, args.max_side, args.quality)
            if data is None:
                continue
            rows.append({"bytes": data, "path": f"{folder.name}/{path.name}"})
            total += len(data)
        print(f"{folder}: {len(rows)} photos so far, {total / 2**20:.1f} MiB", flush=True)
        if total > args.budget_mb * 2**20:
            raise SystemExit(f"over --budget-mb {args.budget_mb}: take fewer photos (DIR:N)")
    features = datasets.Features({"image": datasets.Image()})
    table = datasets.Dataset.from_dict({"image": rows}, features=features)
    with atomic_path(args.out) as temporary:
        table.to_parquet(str(temporary))
    print(f"{args.out}: {len(rows)} photos, {args.out.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
