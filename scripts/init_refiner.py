"""Compose a coarse + refiner model from models with one generator each.

The coarse generator gets all of the source's weights; the refiner every tensor of
``--refiner-from``'s generator (default: the source's) whose name and shape match (with a
lighter decoder: the encoder), the rest keeps its initialisation. Then train it with
``model.init_from=OUT model.refiner=...`` (the same refiner arguments), or use it as it is
(e.g. a full-resolution model as the coarse level, a pyramid's generator as refiner).
``--settings`` overrides the source's config (``CoarseToFine`` settings and the coarse
generator's arguments): a coarse level that classifies colours (the source's encoder and
decoder, a head started as the source's regression: a peak at the ab it predicts) over the
source as refiner is colorizer v2's start::

    python scripts/init_refiner.py src/pyramidrefine/weights/colorizer runs/refiner-init \\
        --refiner '{"decoder_channels": [64, 32, 24, 16, 8]}'
    python scripts/init_refiner.py runs/baseline/model runs/composed --refiner '{}' \\
        --refiner-from src/pyramidrefine/weights/colorizer --base-size 128
    python scripts/init_refiner.py src/pyramidrefine/weights/colorizer runs/v2-init \\
        --refiner '{"colour_bins": null, "head_kernel": 3}' \\
        --settings '{"colour_bins": 12, "head_kernel": 1, "refinement": "detail",
                     "max_levels": null}'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from pyramidrefine import CoarseToFine
from pyramidrefine.generators.colour_head import ColourClassHead


def classes_from_regression(head: ColourClassHead, regression: nn.Conv2d, spread: float) -> None:
    """Start ``head``'s output convolution as the regression it replaces: logits
    ``(c_k · ab - |c_k|² / 2) / spread²`` over the bin centres ``c_k``, a peak of width
    ``spread`` around the ab that ``regression`` (the source's ``ab`` output convolution)
    predicts; a 1×1 head takes the sum of the source's taps."""
    conv = head.inner.segmentation_head[0]
    centres = head.grid.centres()
    with torch.no_grad():
        weight = torch.einsum("kc,cihw->kihw", centres, regression.weight) / spread**2
        if conv.kernel_size != regression.kernel_size:
            weight = weight.sum(dim=(2, 3), keepdim=True)
        conv.weight.copy_(weight)
        bias = centres @ regression.bias - 0.5 * (centres**2).sum(dim=1)
        conv.bias.copy_(bias / spread**2)


def copy_matching(module: nn.Module, weights: dict) -> int:
    """Load the tensors of ``weights`` whose name and shape ``module`` has; how many."""
    own = module.state_dict()
    matching = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    module.load_state_dict(matching, strict=False)
    return len(matching)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="a model folder with one shared generator")
    parser.add_argument("out", type=Path, help="folder to write the coarse + refiner model to")
    parser.add_argument("--refiner", type=json.loads, required=True, help="JSON keyword args")
    parser.add_argument("--refiner-from", type=Path, help="model whose generator seeds the refiner")
    parser.add_argument("--base-size", type=int, help="coarsest level (default: the source's)")
    parser.add_argument("--settings", type=json.loads, default={}, help="JSON config overrides")
    args = parser.parse_args()
    config = json.loads((args.source / "config.json").read_text()) | {"refiner": args.refiner}
    config |= args.settings
    if args.base_size:
        config |= {"base_size": args.base_size, "levels": None}
    model = CoarseToFine(config.pop("generator"), **config)
    head, refiner = model.generators
    coarse = getattr(head, "inner", head)  # a colour-class head's generator
    source_generator = CoarseToFine.from_pretrained(args.source).generators[0]
    taken = copy_matching(coarse, source_generator.state_dict())
    if isinstance(head, ColourClassHead):
        regression = source_generator.segmentation_head[0]
        classes_from_regression(head, regression, spread=head.grid.width)
    weights = CoarseToFine.from_pretrained(args.refiner_from or args.source).generators[0]
    matching = copy_matching(refiner, weights.state_dict())
    model.save_pretrained(args.out)
    print(
        f"wrote {args.out}: the coarse generator took {taken} of its "
        f"{len(coarse.state_dict())} tensors, the refiner {matching} of its "
        f"{len(refiner.state_dict())}"
    )


if __name__ == "__main__":
    main()
