"""Compose a coarse + refiner model from models with one generator each.

The coarse generator gets all of the source's weights; the refiner every tensor of
``--refiner-from``'s generator (default: the source's) whose name and shape match (with a
lighter decoder: the encoder), the rest keeps its initialisation. Then train it with
``model.init_from=OUT model.refiner=...`` (the same refiner arguments), or use it as it is
(e.g. a full-resolution model as the coarse level, a pyramid's generator as refiner).
``--settings`` overrides the source's config (``CoarseToFine`` settings and the coarse
generator's arguments): a coarse level that classifies colours (a new head, the source's
encoder and decoder) over the source as refiner is colorizer v2's start::

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

from torch import nn

from pyramidrefine import CoarseToFine


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
    coarse, refiner = model.generators
    coarse = getattr(coarse, "inner", coarse)  # a colour-class head's generator
    source = CoarseToFine.from_pretrained(args.source).generators[0].state_dict()
    taken = copy_matching(coarse, source)
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
