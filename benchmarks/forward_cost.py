"""Forward time, peak memory and GFLOP/s of one generator run as baseline, patchwise, pyramid.

Each (method, size) runs in its own subprocess so that peak memory is that run's alone;
so does the matmul that gives this machine's practical peak in the same precision, against
which every achieved GFLOP/s is reported. Weights are random unless ``--model`` names a
saved model: cost does not depend on them (the comparison with quality is ``run.py``).
Methods: those of ``pyramidrefine.METHODS`` (tiled ones: 512 px tiles, 64 px overlap,
one tile at a time), ``pyramid-batched`` (the same tiles in batches that fit the memory
budget) and ``pyramid-bounded`` (what ``colorize`` runs by default: the pyramid, with
levels too large for the memory budget in the tiles that fit). Example::

    python benchmarks/forward_cost.py --sizes 1024 2048 --methods pyramid pyramid-batched
    python benchmarks/forward_cost.py --device cuda --precision auto --sizes 4096 8192
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from pyramidrefine.choices import DEFAULT_OVERLAP, DEFAULT_TILE

TILES = dict(tile=DEFAULT_TILE, overlap=DEFAULT_OVERLAP)
METHODS = {  # name → (library method, tiling, bounded by the memory budget)
    "baseline": ("baseline", {}, False),
    "patchwise": ("patchwise", TILES, False),
    "pyramid": ("pyramid", {}, False),
    "pyramid-tiled": ("pyramid-tiled", TILES, False),
    "pyramid-batched": ("pyramid-tiled", TILES, True),
    "pyramid-bounded": ("pyramid", {}, True),
}


def measure(method: str, size: int, args: argparse.Namespace) -> dict:
    """Build the model, warm up once, then time ``args.repeats`` forwards (in the child)."""
    import torch

    import pyramidrefine as pr
    from pyramidrefine import hardware, profiling

    torch.manual_seed(0)
    if args.model:
        model = pr.CoarseToFine.from_pretrained(args.model)
    else:
        model = pr.CoarseToFine(
            "smp", encoder_name="resnet18", in_channels=1, out_channels=2, base_size=256
        )
    model = model.to(args.device).eval()
    x = torch.randn(1, 1, size, size, device=args.device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    name, tiling, bounded = METHODS[method]
    budget = hardware.resolve_memory_budget(args.memory_budget, args.device) if bounded else None
    predict = pr.apply_method(model, name, memory_budget=budget, **tiling)
    precision = hardware.resolve_precision(args.precision, args.device)
    with torch.inference_mode(), hardware.autocast(args.device, precision):
        flops, _ = profiling.count_flops(predict, x)  # also the warm-up
        with profiling.PeakMemory(args.device) as memory:
            seconds = profiling.median_seconds(
                lambda: predict(x), repeats=args.repeats, warmup=0, device=args.device
            )
        finest = predict.num_levels(size, size) - 1
        plan = predict.tile_plan(finest, x)
    return {
        "method": method,
        "size": size,
        "levels": predict.num_levels(size, size),
        "tile": plan.tile,
        "batch_size": plan.batch_size,
        "memory_budget_mb": None if budget is None else round(budget / 2**20),
        "precision": precision,
        "channels_last": args.channels_last,
        "device": args.device,
        "median_s": seconds,
        "gflop": flops / 1e9,
        "gflop_per_s": flops / 1e9 / seconds,
        "peak_mb": round(memory.peak_mb),
        "forward_mb": round(memory.increase_mb),
        "threads": torch.get_num_threads(),
    }


def matmul_peak(args: argparse.Namespace) -> dict:
    """This machine's matmul GFLOP/s in the run's precision (in the child)."""
    import torch

    from pyramidrefine import hardware, profiling

    precision = hardware.resolve_precision(args.precision, args.device)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    gflops = profiling.matmul_gflops(
        dtype, size=4096 if "cuda" in args.device else 2048, device=args.device
    )
    return {"precision": precision, "matmul_gflop_per_s": gflops}


def child(args: argparse.Namespace, *what: str) -> dict:
    """Run one measurement in a fresh process and return its result."""
    command = [sys.executable, __file__, "--child", *what, "--device", args.device]
    command += ["--repeats", str(args.repeats), "--precision", args.precision]
    command += ["--memory-budget", args.memory_budget_text]
    command += ["--model", args.model] if args.model else []
    command += ["--channels-last"] if args.channels_last else []
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    from pyramidrefine.hardware import PRECISIONS, parse_memory_size

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    parser.add_argument(
        "--memory-budget",
        dest="memory_budget_text",
        default="auto",
        help="budget of the bounded methods, e.g. 2G (default: %(default)s, as colorize)",
    )
    parser.add_argument("--model", help="a saved model folder (default: random smp resnet18)")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.memory_budget = parse_memory_size(args.memory_budget_text)
    if args.child == ["matmul"]:
        print(json.dumps(matmul_peak(args)))
        return
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args)))
        return

    from tqdm import tqdm

    peak = child(args, "matmul")
    runs = [(size, method) for size in args.sizes for method in args.methods]
    results = [
        child(args, method, str(size))
        for size, method in tqdm(runs, desc="forward cost", unit="run")
    ]
    for result in results:
        result["of_matmul"] = result["gflop_per_s"] / peak["matmul_gflop_per_s"]
    model = args.model or "smp U-Net resnet18 (random)"
    print(
        f"\n{args.device}, {peak['precision']} (matmul {peak['matmul_gflop_per_s']:.0f} "
        f"GFLOP/s), channels_last={args.channels_last}, {model}, 1→2 ch"
    )
    print(
        "| size | method | levels | tile × batch | median time (s) | GFLOP/s | of matmul "
        "| peak memory (MB) | forward Δ (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        tiling = "—" if r["tile"] is None else f"{r['tile'][0]}×{r['tile'][1]} × {r['batch_size']}"
        print(
            f"| {r['size']}² | {r['method']} | {r['levels']} | {tiling} | {r['median_s']:.3f} "
            f"| {r['gflop_per_s']:.1f} | {r['of_matmul']:.2f} | {r['peak_mb']} "
            f"| {r['forward_mb']} |"
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"matmul": peak, "results": results}, file, indent=2)


if __name__ == "__main__":
    main()
