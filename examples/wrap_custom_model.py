"""Put your own nn.Module inside CoarseToFine and run it over a pyramid of scales.

CoarseToFine feeds the generator ``in_channels + out_channels + 1`` channels (the input,
the upsampled prior of the coarser level, and a flag that is 1 where a prior exists), and
expects ``out_channels`` back at the same size. Anything that does that fits.

    python examples/wrap_custom_model.py            # a 1024 px image, 3 levels, tiled
    python examples/wrap_custom_model.py --smoke    # tiny and fast (CI)
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

import pyramidrefine as pr


class MyResidualNet(nn.Module):
    """Your model: a few 3×3 convolutions with a skip connection. Any size works."""

    def __init__(self, in_channels: int, out_channels: int, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=2, dilation=2),
            nn.ReLU(),
            nn.Conv2d(width, out_channels, 3, padding=1),
        )
        self.skip = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for tests")
    args = parser.parse_args()
    size = 96 if args.smoke else args.size

    task = pr.DenoisingTask()  # RGB in, RGB out; pr.ColorizationTask() works the same way
    generator = MyResidualNet(
        in_channels=task.in_channels + task.out_channels + 1,  # input + prior + flag
        out_channels=task.out_channels,
        width=8 if args.smoke else 32,
    )
    # A ready module, a factory f(in_channels, out_channels, **kw), or a registered name.
    model = pr.CoarseToFine(
        generator,
        in_channels=task.in_channels,
        out_channels=task.out_channels,
        base_size=size // 4,  # coarsest level: long side ≤ size / 4 → 3 levels
        tile=size // 2,  # levels larger than this run tile by tile
        overlap=size // 16,
    ).eval()

    clean = torch.rand(1, 3, size, size * 3 // 4)
    inputs, _ = task.prepare(clean, torch.Generator().manual_seed(0))
    with torch.no_grad():
        levels = model.forward_levels(inputs)
    for level, prediction in enumerate(levels):
        print(f"level {level}: {tuple(prediction.shape)}")
    print(f"restored image: {tuple(task.render(inputs, levels[-1]).shape)}")
    # Untrained here: train it with a plain loop on pr.pyramid_step-style losses, or
    # register it (see docs/howto/custom-generator.md) and use `pyramidrefine train`.


if __name__ == "__main__":
    main()
