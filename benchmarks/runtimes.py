"""Whole-colorize runtimes on the CPU: each torch step of the default path (fp32, BatchNorm
folded, channels_last, bf16), onnxruntime and the default, at 1024, 2048 and 4224 px and 8K.

Every row is a ``Colorizer`` call on the same photo (``--photo``, resized to each size) in
a process of its own, measured in the same run as the rows it is compared with: the time
is the minimum of ``--repeats`` calls after one untimed call, the peak the process's
highest RSS during the timed calls (the runtime, the model, the photo and the run).
GFLOP/s: the generators' FLOPs of one call (counted on the torch fp32 path) over the time,
against this machine's matmul rate in the row's precision, measured in the same run.
``process`` rows time the whole command (``pyramidrefine colorize PHOTO``: start, model,
photo, colour, write) as a user sees it. Example::

    python benchmarks/runtimes.py --out benchmark-results/runtimes
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = {1024: (1024, 768), 2048: (2048, 1536), 4224: (4224, 3168), 7680: (7680, 4320)}
# row → (precision, backend, BatchNorm folded, channels_last); "default": Colorizer()
ROWS = {
    "torch fp32": ("fp32", "torch", False, False),
    "torch fp32, channels_last": ("fp32", "torch", False, True),
    "torch fp32, folded, channels_last": ("fp32", "torch", True, True),
    "torch bf16, folded, channels_last": ("bf16", "torch", True, True),
    "onnxruntime fp32": ("fp32", "onnxruntime", True, True),
    "default, fp32 (CPUs without native bf16)": ("fp32", "auto", True, True),
    "default": (None, None, True, True),
}
DEFAULT_PHOTO = Path(__file__).resolve().parent.parent / "examples" / "photos" / "astronaut.jpg"


def child(row: str, photo: str, repeats: int) -> dict[str, float | str]:
    """Measure one row in this process (run as ``--child``)."""
    import torch
    from PIL import Image

    import pyramidrefine as pr
    from pyramidrefine import inference, profiling

    precision, backend, folded, channels_last = ROWS[row]
    options = {} if precision is None else {"precision": precision, "backend": backend}
    unfold = contextlib.nullcontext()
    if not folded:
        unfold = _patched(inference, "fold_pyramid", copy.deepcopy)  # nothing folded
    with unfold:
        colorizer = pr.Colorizer(**options)
    if not channels_last:
        colorizer.predict.to(memory_format=torch.contiguous_format)
    image = Image.open(photo)
    image.load()
    flops, _ = profiling.count_flops(colorizer, image) if row == "torch fp32" else (0, None)
    colorizer(image)
    profiling.reset_peak_rss()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        colorizer(image)
        seconds.append(time.perf_counter() - start)
    return {
        "seconds": min(seconds),
        "peak_mb": profiling.peak_rss_mb(),
        "flops": flops,
        "precision": colorizer.precision,
        "backend": colorizer.backend,
    }


@contextlib.contextmanager
def _patched(module: object, name: str, value: object):
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def run_child(row: str, photo: Path, repeats: int) -> dict:
    """One row in a fresh process."""
    command = [sys.executable, __file__, "--child", row, "--photo", str(photo)]
    command += ["--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"status": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def whole_process(photo: Path, repeats: int) -> dict[str, float]:
    """``pyramidrefine colorize PHOTO`` as a command: least wall time and its peak RSS."""
    best: dict[str, float] = {}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            command = ["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "pyramidrefine.cli"]
            command += ["colorize", str(photo), "--out", out]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
        seconds, kib = done.stderr.strip().splitlines()[-1].split()
        if not best or float(seconds) < best["seconds"]:
            best = {"seconds": float(seconds), "peak_mb": int(kib) / 1024}
    return best


def matmul_rates() -> dict[str, float]:
    """This machine's matmul GFLOP/s in fp32 and bf16, measured now."""
    import torch

    from pyramidrefine import profiling

    return {
        "fp32": profiling.matmul_gflops(torch.float32),
        "bf16": profiling.matmul_gflops(torch.bfloat16),
    }


def table(results: dict[int, dict[str, dict]], rates: dict[str, float]) -> str:
    """The markdown table of ``results`` (size → row → measurement)."""
    lines = [
        "| size | row | backend, precision | seconds | GFLOP/s | of matmul | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, rows in results.items():
        width, height = SIZES[size]
        flops = rows.get("torch fp32", {}).get("flops", 0)
        for name, result in rows.items():
            if "seconds" not in result:
                lines.append(f"| {width}×{height} | {name} | | {result.get('status')} | | | |")
                continue
            if "backend" in result:  # a call: its rate against the matmul's
                where = f"{result['backend']}, {result['precision']}"
                rate = flops / result["seconds"] / 1e9
                efficiency = f"{rate:.0f} | {rate / rates[result['precision']]:.0%}"
            else:  # the whole command: start-up and files included
                where, efficiency = "default (whole process)", " | "
            lines.append(
                f"| {width}×{height} | {name} | {where} | {result['seconds']:.2f} | "
                f"{efficiency} | {result['peak_mb']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write results.json (the table inside) here")
    parser.add_argument("--child", choices=ROWS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, str(args.photo), args.repeats)))
        return
    from PIL import Image

    from pyramidrefine import profiling

    results: dict[int, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory() as folder:
        source = Image.open(args.photo).convert("RGB")
        for size in args.sizes:
            photo = Path(folder) / f"photo-{size}.jpg"
            source.resize(SIZES[size], Image.LANCZOS).save(photo, quality=92)
            results[size] = {}
            for row in args.rows:
                results[size][row] = run_child(row, photo, args.repeats)
                print(size, row, results[size][row], flush=True)
            results[size]["process: pyramidrefine colorize"] = whole_process(photo, args.repeats)
            print(size, "process", results[size]["process: pyramidrefine colorize"], flush=True)
    rates = matmul_rates()
    markdown = table(results, rates)
    print(markdown)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        record = {"machine": profiling.machine_info(), "matmul_gflops": rates}
        record |= {"photo": str(args.photo), "repeats": args.repeats, "results": results}
        record["table"] = markdown
        (args.out / "results.json").write_text(json.dumps(record, indent=2, default=str))


if __name__ == "__main__":
    main()
