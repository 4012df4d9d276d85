"""Compose a coarse + refiner model from models with one generator each.

The coarse generator gets all of the source's weights; the refiner every tensor of
``--refiner-from``'s generator (default: the source's) whose name and shape match (with a
lighter decoder: the encoder), the rest keeps its initialisation. Then train it with
``model.init_from=OUT model.refiner=...`` (the same refiner arguments), or use it as it is
(e.g. a full-resolution model as the coarse level, a pyramid's generator as refiner)::

    python scripts/init_refiner.py src/pyramidrefine/weights/colorizer runs/refiner-init \\
        --refiner '{"decoder_channels": [64, 32, 24, 16, 8]}'
    python scripts/init_refiner.py runs/baseline/model runs/composed --refiner '{}' \\
        --refiner-from src/pyramidrefine/weights/colorizer --base-size 128
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pyramidrefine import CoarseToFine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="a model folder with one shared generator")
    parser.add_argument("out", type=Path, help="folder to write the coarse + refiner model to")
    parser.add_argument("--refiner", type=json.loads, required=True, help="JSON keyword args")
    parser.add_argument("--refiner-from", type=Path, help="model whose generator seeds the refiner")
    parser.add_argument("--base-size", type=int, help="coarsest level (default: the source's)")
    args = parser.parse_args()
    config = json.loads((args.source / "config.json").read_text()) | {"refiner": args.refiner}
    if args.base_size:
        config |= {"base_size": args.base_size, "levels": None}
    model = CoarseToFine(config.pop("generator"), **config)
    coarse, refiner = model.generators
    coarse.load_state_dict(CoarseToFine.from_pretrained(args.source).generators[0].state_dict())
    weights = CoarseToFine.from_pretrained(args.refiner_from or args.source).generators[0]
    weights = weights.state_dict()
    own = refiner.state_dict()
    matching = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    refiner.load_state_dict(matching, strict=False)
    model.save_pretrained(args.out)
    print(f"wrote {args.out}: refiner took {len(matching)} of its {len(own)} tensors")


if __name__ == "__main__":
    main()
