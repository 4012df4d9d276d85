"""Forward time, peak memory and GFLOP/s of one generator run as baseline, patchwise, pyramid.

Each (method, size) runs in its own subprocess so that peak memory is that run's alone.
Weights are random: cost does not depend on them, so this needs no trained model (the
full comparison with quality is ``run.py``). Example::

    python benchmarks/forward_cost.py --sizes 1024 2048 --methods baseline pyramid
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

METHODS = {
    "baseline": {},
    "patchwise": dict(tile=512, overlap=64),
    "pyramid": {},
    "pyramid-tiled": dict(tile=512, overlap=64),
}


def measure(method: str, size: int, repeats: int, precision: str, channels_last: bool) -> dict:
    """Build the model, warm up once, then time ``repeats`` forwards (runs in the child)."""
    import torch

    import pyramidrefine as pr
    from pyramidrefine import profiling

    torch.manual_seed(0)
    model = pr.CoarseToFine(
        "smp", encoder_name="resnet18", in_channels=1, out_channels=2, base_size=256
    ).eval()
    x = torch.randn(1, 1, size, size)
    if channels_last:
        model, x = (
            model.to(memory_format=torch.channels_last),
            x.contiguous(memory_format=torch.channels_last),
        )
    predict = pr.apply_method(model, method, **METHODS[method])
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    with torch.inference_mode(), autocast:
        flops, _ = profiling.count_flops(predict, x)  # also the warm-up
        with profiling.PeakMemory("cpu") as memory:
            seconds = profiling.median_seconds(lambda: predict(x), repeats=repeats, warmup=0)
    return {
        "method": method,
        "size": size,
        "levels": predict.num_levels(size, size),
        "precision": precision,
        "channels_last": channels_last,
        "median_s": seconds,
        "gflop_per_s": flops / 1e9 / seconds,
        "peak_rss_mb": round(memory.peak_mb),
        "forward_rss_mb": round(memory.increase_mb),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(
            args.child[0], int(args.child[1]), args.repeats, args.precision, args.channels_last
        )
        print(json.dumps(result))
        return

    from tqdm import tqdm

    runs = [(size, method) for size in args.sizes for method in args.methods]
    results = []
    for size, method in tqdm(runs, desc="forward cost", unit="run"):
        command = [
            sys.executable,
            __file__,
            "--child",
            method,
            str(size),
            "--repeats",
            str(args.repeats),
            "--precision",
            args.precision,
        ]
        command += ["--channels-last"] if args.channels_last else []
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    print(f"\n{args.precision}, channels_last={args.channels_last}, smp U-Net resnet18, 1→2 ch")
    print(
        "| size | method | levels | median time (s) | GFLOP/s | peak RSS (MB) | forward RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['size']}² | {r['method']} | {r['levels']} | {r['median_s']:.2f} "
            f"| {r['gflop_per_s']:.1f} | {r['peak_rss_mb']} | {r['forward_rss_mb']} |"
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
