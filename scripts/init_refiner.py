"""Start a coarse + refiner colorizer from a shared-generator model (e.g. the shipped one).

The coarse generator gets all of the source's weights; the refiner every tensor whose name
and shape match (with a lighter decoder: the encoder), the rest keeps its initialisation.
Then train it with ``model.init_from=OUT model.refiner=...`` (the same refiner arguments)::

    python scripts/init_refiner.py src/pyramidrefine/weights/colorizer runs/refiner-init \\
        --refiner '{"decoder_channels": [64, 32, 24, 16, 8]}'
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
    args = parser.parse_args()
    source = CoarseToFine.from_pretrained(args.source)
    config = json.loads((args.source / "config.json").read_text()) | {"refiner": args.refiner}
    model = CoarseToFine(config.pop("generator"), **config)
    weights = source.generators[0].state_dict()
    coarse, refiner = model.generators
    coarse.load_state_dict(weights)
    own = refiner.state_dict()
    matching = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    refiner.load_state_dict(matching, strict=False)
    model.save_pretrained(args.out)
    print(f"wrote {args.out}: refiner took {len(matching)} of its {len(own)} tensors")


if __name__ == "__main__":
    main()
