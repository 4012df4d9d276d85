"""Colour hints measured: colour quality against the number of hints taken from the truth.

For a colorizer that takes hints (with 3 guide channels, or with none: the hints are then
spread over its prediction, ``pyramidrefine.hint_propagation``) and photo sets: L1(ab),
PSNR, the hue hit rate and colourfulness (``pyramidrefine.evaluation.evaluate``) for 0, 1,
2, 5, 10 and 20 hints taken from each photo's true colours in two ways: at **random**
pixels, and at the most **saturated** ones (the highest chroma first; each pick excludes a
square of ``--spread`` × the long side around it, so that the hints spread over the photo).
A hint is the true colour of its pixel (``--patch 1``) or the mean of a ``--patch`` square,
given as the public API takes it: ``Colorizer(model)(grey, hints=[(x, y, "#rrggbb"),
...])``. The ``n`` hints of a photo are the first ``n`` of its largest count's (random
draws seeded by ``--seed`` and the photo's position), so reruns are equal and the curve is
nested.

With ``--base`` (the model without guide channels the hint model was fine-tuned from),
the no-hint equality check: the largest |difference| of RGB in [0, 1] between the base
model's output and that of ``pyramidrefine.add_guide_channels(base, 3)`` without hints
(0 up to float rounding), and between the base's and ``--model``'s without hints (how far
the fine-tune moved the hint-free colours).

Results are journalled in ``OUT/metrics.json`` (a rerun skips what is there; other
settings stop the run), tabulated in ``OUT/hints.md`` (with L1(ab) ÷ the 0-hint L1(ab):
issue 25's target is ≤ 0.6 with 10 random hints), drawn in ``OUT/curve.png`` and shown
around a few hints in ``OUT/crops.jpg``. Example::

    python benchmarks/hints.py --out docs/results/hints --model default \\
        --data bsd100=../shared/data/photos/BSD100 \\
        --data imagenet=../shared/data/eval/imagenet-1k-sample --max-images 100
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

import pyramidrefine as pr
from pyramidrefine.atomic import atomic_path, write_text_atomic
from pyramidrefine.errors import ConfigurationError, PyramidRefineError
from pyramidrefine.evaluation import evaluate
from pyramidrefine.hints import GUIDE_CHANNELS, MAX_HINTS, MAX_PATCH
from pyramidrefine.tasks import ColorizationTask
from pyramidrefine.training.data import validation_images

SAMPLINGS = {"random": "random pixels", "saturated": "most saturated pixels"}
COLUMNS = [
    ("l1_ab", "L1(ab) ↓", "{:.4f}"),
    ("l1_ratio", "÷ 0-hint L1(ab) ↓", "{:.2f}"),
    ("psnr", "PSNR ↑", "{:.2f}"),
    ("hue_hit_rate", "hue hit rate ↑", "{:.3f}"),
    ("colourfulness", "colourfulness", "{:.1f}"),
    ("colourfulness_ratio", "colourfulness ÷ truth's", "{:.2f}"),
]
TARGET_COUNT, TARGET_RATIO = 10, 0.6  # issue 25: 10 random hints, L1(ab) ≤ 0.6× hint-free
CROP_PANEL = 192  # pixels of a crop as drawn
TASK = ColorizationTask()

Point = tuple[int, int]


def named(value: str) -> tuple[str, str]:
    """``NAME=PATH`` as ``(name, path)``."""
    name, sep, path = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{value!r}: use NAME=FOLDER")
    return name, path


def bounded(low: int, high: int, what: str) -> Any:
    """An argparse type: an integer from ``low`` to ``high``."""

    def parse(text: str) -> int:
        if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r}: give {what}, an integer {low}..{high}")
        return int(text)

    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line, checked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a colorizer with hint channels")
    parser.add_argument("--base", help="the guide-free model it was made from (equality check)")
    parser.add_argument("--data", type=named, action="append", required=True, help="NAME=FOLDER")
    parser.add_argument("--out", type=Path, required=True)
    hint_count = bounded(0, MAX_HINTS, "a hint count")
    parser.add_argument("--counts", type=hint_count, nargs="+", default=[0, 1, 2, 5, 10, 20])
    parser.add_argument("--patch", type=bounded(1, MAX_PATCH, "a patch side"), default=1)
    parser.add_argument(
        "--spread", type=float, default=0.05, help="saturated hints: excluded half-side ÷ long side"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-images", type=int, help="at most this many, evenly spread")
    parser.add_argument("--max-side", type=int, help="scale photos down to this long side")
    parser.add_argument("--method", default="pyramid", help="inference method of the Colorizer")
    parser.add_argument("--device", help="default: the CPU")
    parser.add_argument("--crop-images", type=int, default=2, help="photos per data set in crops")
    parser.add_argument("--crop-hints", type=hint_count, default=5, help="saturated hints there")
    parser.add_argument("--crop-size", type=int, default=96, help="side of a crop in pixels")
    args = parser.parse_args(argv)
    if not 0 <= args.spread < 0.5:
        parser.error(f"--spread {args.spread}: give a fraction of the long side in [0, 0.5)")
    args.counts = sorted(set(args.counts) | {0})  # the ratio needs the hint-free result
    return args


def random_points(ab: torch.Tensor, count: int, rng: np.random.Generator) -> list[Point]:
    """``count`` distinct pixels ``(x, y)`` of a ``1×2×H×W`` image, uniformly at random."""
    height, width = ab.shape[-2:]
    flat = rng.choice(height * width, size=min(count, height * width), replace=False)
    return [(int(i % width), int(i // width)) for i in flat]


def saturated_points(ab: torch.Tensor, count: int, radius: int) -> list[Point]:
    """Up to ``count`` pixels ``(x, y)`` of highest chroma, each next one outside the
    ``(2·radius + 1)²`` squares around those before (fewer if none is left)."""
    chroma = torch.linalg.vector_norm(ab[0].float(), dim=0)
    width, points = chroma.shape[1], []
    for _ in range(count):
        index = int(chroma.argmax())  # the first of ties: deterministic
        y, x = divmod(index, width)
        if chroma[y, x] == -math.inf:
            break
        points.append((x, y))
        chroma[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1] = -math.inf
    return points


def hint_at(rgb: torch.Tensor, point: Point, patch: int) -> tuple[Any, ...]:
    """The hint of the truth ``rgb`` (``1×3×H×W``) at ``point``: the mean colour of the
    ``patch``² square centred there (cut as :func:`pyramidrefine.hints.render_guide` cuts)."""
    x, y = point
    top, left = y - (patch - 1) // 2, x - (patch - 1) // 2
    square = rgb[0, :, max(0, top) : max(0, top + patch), max(0, left) : max(0, left + patch)]
    red, green, blue = (round(float(v) * 255) for v in square.mean(dim=(1, 2)))
    colour = f"#{red:02x}{green:02x}{blue:02x}"
    return (x, y, colour) if patch == 1 else (x, y, colour, patch)


def grey_of(rgb: torch.Tensor) -> torch.Tensor:
    """The grey photo (``1×3×H×W``, R = G = B) of ``rgb``: what the colorizer is given."""
    L, _ = TASK.prepare(rgb)
    return TASK.render(L, TASK.reference(L))


class HintedColorizer:
    """A predictor for :func:`evaluate`: normalised L in, normalised ab out, through the
    public API ``colorizer(grey, hints=...)`` with the next photo's hints (``hints`` in
    the order :func:`evaluate` is given the photos; each call takes the next)."""

    def __init__(self, colorizer: pr.Colorizer, hints: Iterable[list[tuple[Any, ...]]]) -> None:
        self.colorizer = colorizer
        self.hints: Iterator[list[tuple[Any, ...]]] = iter(hints)

    def __call__(self, L: torch.Tensor) -> torch.Tensor:
        grey = TASK.render(L, TASK.reference(L))
        coloured = self.colorizer(grey, hints=next(self.hints))
        return TASK.prepare(coloured)[1]


class PhotoSet:
    """A data set's photos and, per sampling, every photo's hint points at the largest count."""

    def __init__(self, images: list[torch.Tensor], args: argparse.Namespace) -> None:
        self.images = images
        self.patch = args.patch
        count = max(*args.counts, args.crop_hints)
        self.points: dict[str, list[list[Point]]] = {"random": [], "saturated": []}
        for index, rgb in enumerate(images):
            _, ab = TASK.prepare(rgb)
            rng = np.random.default_rng([args.seed, index])
            radius = max(1, round(args.spread * max(rgb.shape[-2:])))
            self.points["random"].append(random_points(ab, count, rng))
            self.points["saturated"].append(saturated_points(ab, count, radius))

    def hints(self, sampling: str, count: int) -> Iterator[list[tuple[Any, ...]]]:
        """Every photo's first ``count`` hints of ``sampling``, in order."""
        for rgb, points in zip(self.images, self.points[sampling], strict=True):
            yield [hint_at(rgb, point, self.patch) for point in points[:count]]


def measure(colorizer: pr.Colorizer, photos: PhotoSet, sampling: str, count: int) -> dict:
    """:func:`evaluate`'s means over the photos with ``count`` hints of ``sampling``."""
    predictor = HintedColorizer(colorizer, photos.hints(sampling, count))
    results = evaluate(predictor, photos.images, TASK)
    counts = [len(points[:count]) for points in photos.points[sampling]]
    return results | {"mean_hints": float(np.mean(counts))}


@torch.inference_mode()
def equality(
    model: pr.Colorizer, base: pr.Colorizer, widened: pr.Colorizer, images: list[torch.Tensor]
) -> dict:
    """Largest |Δ RGB| without hints: the widened base and ``model`` against the base."""
    widened_gap = model_gap = 0.0
    for rgb in images:
        grey = grey_of(rgb)
        reference = base(grey)
        widened_gap = max(widened_gap, float((widened(grey) - reference).abs().max()))
        model_gap = max(model_gap, float((model(grey) - reference).abs().max()))
    return {"widened_vs_base": widened_gap, "model_vs_base": model_gap}


def key(data: str, sampling: str, count: int) -> str:
    """The journal key of a measurement (0 hints: one for both samplings)."""
    return f"{data}/none/0" if count == 0 else f"{data}/{sampling}/{count}"


def row(results: dict[str, dict], data: str, sampling: str, count: int) -> dict[str, float]:
    """One measurement with its L1(ab) ÷ the 0-hint L1(ab)."""
    metrics, none = results[key(data, sampling, count)], results[key(data, sampling, 0)]
    return metrics | {"l1_ratio": metrics["l1_ab"] / none["l1_ab"] if none["l1_ab"] else math.nan}


def table(results: dict[str, dict], data: str, sampling: str, counts: list[int]) -> list[str]:
    """Markdown: one row per hint count."""
    header = "| hints | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [f"### {SAMPLINGS[sampling]}", "", header, "|---" * (len(COLUMNS) + 1) + "|"]
    for count in counts:
        metrics = row(results, data, sampling, count)
        cells = [fmt.format(metrics[name]) for name, _, fmt in COLUMNS]
        lines.append(f"| {count} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def target_line(results: dict[str, dict], data: str, counts: list[int]) -> list[str]:
    """Whether issue 25's target holds on ``data`` (when 10 hints were measured)."""
    if TARGET_COUNT not in counts:
        return []
    ratio = row(results, data, "random", TARGET_COUNT)["l1_ratio"]
    verdict = "met" if ratio <= TARGET_RATIO else "not met"
    return [
        f"Target (issue 25): with {TARGET_COUNT} random hints L1(ab) ≤ {TARGET_RATIO}× the "
        f"hint-free one: **{ratio:.2f}×, {verdict}**.",
        "",
    ]


def equality_table(results: dict[str, dict], datas: list[str]) -> list[str]:
    """Markdown: the no-hint equality check per data set."""
    lines = [
        "## No-hint equality",
        "",
        "Largest |Δ| of the RGB output (0..1) without hints, against the base model's:",
        "",
        "| data | add_guide_channels(base, 3) | --model |",
        "|---|---|---|",
    ]
    for data in datas:
        gaps = results[f"{data}/equality"]
        lines.append(f"| {data} | {gaps['widened_vs_base']:.2e} | {gaps['model_vs_base']:.2e} |")
    return [*lines, ""]


def curve(results: dict[str, dict], datas: list[str], counts: list[int], path: Path) -> None:
    """PNG: L1(ab) and its ratio to the 0-hint L1(ab) against the hint count."""
    figure = Figure(figsize=(10, 4))
    left, right = figure.subplots(1, 2)
    for data in datas:
        for sampling, style in zip(SAMPLINGS, ("-", "--"), strict=True):
            rows = [row(results, data, sampling, count) for count in counts]
            label = f"{data}, {sampling}"
            left.plot(counts, [r["l1_ab"] for r in rows], style, marker="o", label=label)
            right.plot(counts, [r["l1_ratio"] for r in rows], style, marker="o", label=label)
    target = [TARGET_RATIO] * 2
    right.plot(
        [counts[0], counts[-1]], target, ":", color="grey", label=f"target at {TARGET_COUNT}"
    )
    for axes, label in ((left, "L1(ab) ↓"), (right, "L1(ab) ÷ 0-hint L1(ab) ↓")):
        axes.set(xscale="symlog", xlabel="hints", ylabel=label)
        axes.set_xticks(counts, labels=[str(c) for c in counts])
        axes.grid(True, alpha=0.3)
    right.legend(fontsize="small")
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120)


def crop_row(colorizer: pr.Colorizer, rgb: torch.Tensor, hints: list, side: int) -> Image.Image:
    """grey with the hints | no hint | with the hints (ringed) | truth, cropped around the
    first hint and enlarged (nearest neighbour, so halos stay sharp)."""
    height, width = rgb.shape[-2:]
    x, y = hints[0][:2]
    side_y, side_x = min(side, height), min(side, width)
    top = min(max(0, y - side_y // 2), height - side_y)
    left = min(max(0, x - side_x // 2), width - side_x)
    grey = grey_of(rgb)
    panels = [grey, colorizer(grey), colorizer(grey, hints=hints), rgb]
    scale = CROP_PANEL / max(side_y, side_x)
    size = (round(side_x * scale), round(side_y * scale))
    pictures = []
    for column, panel in enumerate(panels):
        pixels = panel[0, :, top : top + side_y, left : left + side_x].clamp(0, 1)
        array = (pixels * 255).round().byte().permute(1, 2, 0).numpy()
        picture = Image.fromarray(array).resize(size, Image.NEAREST)
        draw = ImageDraw.Draw(picture)
        for hint in hints if column in (0, 2) else []:
            cx, cy = (hint[0] - left + 0.5) * scale, (hint[1] - top + 0.5) * scale
            if 0 <= cx < size[0] and 0 <= cy < size[1]:
                radius = 4 if column == 0 else 7
                fill = hint[2] if column == 0 else None  # grey: the hint's colour; else a ring
                for outline, grow in (("black", 1), ("white", 0)):  # seen on light and dark
                    box = [cx - radius - grow, cy - radius - grow, cx + radius + grow]
                    draw.ellipse([*box, cy + radius + grow], fill, outline)
        pictures.append(picture)
    strip = Image.new("RGB", (4 * size[0] + 12, size[1]), "white")
    for index, picture in enumerate(pictures):
        strip.paste(picture, (index * (size[0] + 4), 0))
    return strip


def crops(
    colorizer: pr.Colorizer, sets: dict[str, PhotoSet], args: argparse.Namespace, path: Path
) -> None:
    """JPEG: a crop row per photo (``--crop-images`` of each data set), titled."""
    rows = []
    for photos in sets.values():
        step = max(1, len(photos.images) // max(1, args.crop_images))
        for index in range(0, len(photos.images), step)[: args.crop_images]:
            points = photos.points["saturated"][index][: args.crop_hints]
            if points:
                hints = [hint_at(photos.images[index], p, args.patch) for p in points]
                rows.append(crop_row(colorizer, photos.images[index], hints, args.crop_size))
    if not rows:
        return
    title = f"grey + hints | no hint | {args.crop_hints} saturated hints (ringed) | truth"
    width = max(r.width for r in rows)
    grid = Image.new("RGB", (width, 16 + sum(r.height + 4 for r in rows)), "white")
    ImageDraw.Draw(grid).text((4, 2), title, fill="black")
    top = 16
    for picture in rows:
        grid.paste(picture, (0, top))
        top += picture.height + 4
    with atomic_path(path) as temporary:
        grid.save(temporary, format="JPEG", quality=90)


def read_journal(path: Path, settings: dict[str, Any]) -> dict[str, dict]:
    """The journalled results, if they were measured with ``settings`` (data sets may be
    added); else one :class:`ConfigurationError` line."""
    if not path.is_file():
        return {}
    journal = json.loads(path.read_text())
    old = journal["settings"]
    clash = [name for name in settings if name != "data" and old.get(name) != settings[name]]
    clash += [
        f"data {name}"
        for name, folder in settings["data"].items()
        if old["data"].get(name, folder) != folder
    ]
    if clash:
        raise ConfigurationError(
            f"{path} was measured with other settings ({', '.join(clash)}); give another "
            "--out, or delete it to measure again"
        )
    settings["data"] = old["data"] | settings["data"]
    return journal["results"]


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, journal, tabulate and draw (see the module)."""
    args = parse_args(argv)
    try:
        run(args)
    except PyramidRefineError as error:
        raise SystemExit(f"benchmarks/hints.py: {error}") from None


def model_key(name_or_path: str) -> str:
    """What the journal records of a model: a folder's absolute path, else the name or id."""
    path = Path(name_or_path)
    return str(path.resolve()) if path.exists() else name_or_path


def run(args: argparse.Namespace) -> None:
    """:func:`main` after parsing."""
    settings = {
        "model": model_key(args.model),
        "base": model_key(args.base) if args.base else None,
        "patch": args.patch,
        "spread": args.spread,
        "seed": args.seed,
        "max_images": args.max_images,
        "max_side": args.max_side,
        "method": args.method,
        "data": {name: str(Path(folder).resolve()) for name, folder in args.data},
    }
    journal_path = args.out / "metrics.json"
    results = read_journal(journal_path, settings)

    def colorizer(model: pr.CoarseToFine) -> pr.Colorizer:
        return pr.Colorizer(model, method=args.method, backend="torch", precision="fp32")

    model = colorizer(pr.load_colorizer(args.model, device=args.device))
    model.check_takes_hints()
    base = widened = None
    if args.base:
        base_model = pr.load_colorizer(args.base, device=args.device)
        if base_model.guide_channels:
            raise ConfigurationError(
                f"--base {args.base} already has guide channels; give the guide-free model "
                "that the hint model was made from"
            )
        base = colorizer(base_model)
        widened = colorizer(pr.add_guide_channels(base_model, GUIDE_CHANNELS))

    def save() -> None:
        text = json.dumps({"settings": settings, "results": results}, indent=1, sort_keys=True)
        write_text_atomic(journal_path, text)

    sets: dict[str, PhotoSet] = {}
    report = ["# Colour hints against their number", ""]
    report += [
        f"Model `{args.model}`, hints of {args.patch}×{args.patch} px, seed {args.seed}.",
        "",
    ]
    for data, source in args.data:
        images = validation_images(source, max_side=args.max_side)
        if args.max_images and len(images) > args.max_images:  # evenly spread over the set
            images = images[:: math.ceil(len(images) / args.max_images)]
        photos = sets[data] = PhotoSet(images, args)
        for sampling in SAMPLINGS:
            for count in args.counts:
                if key(data, sampling, count) not in results:
                    results[key(data, sampling, count)] = measure(model, photos, sampling, count)
                    save()
        if base is not None and f"{data}/equality" not in results:
            results[f"{data}/equality"] = equality(model, base, widened, images)
            save()
        report += [f"## {data} ({len(images)} photos)", ""]
        report += target_line(results, data, args.counts)
        for sampling in SAMPLINGS:
            report += table(results, data, sampling, args.counts)
    if base is not None:
        report += equality_table(results, list(sets))
    curve(results, list(sets), args.counts, args.out / "curve.png")
    crops(model, sets, args, args.out / "crops.jpg")
    report += ["![L1(ab) against the number of hints](curve.png)", ""]
    report += ["![grey + hints | no hint | with hints | truth, around a hint](crops.jpg)", ""]
    write_text_atomic(args.out / "hints.md", "\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
