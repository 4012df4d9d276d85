"""The named choices that the library, the command line and the demo share.

Plain values, importable without torch, so that building the command line (``pyramidrefine
--help``) imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigurationError

# Tiling and working-size defaults of the inference methods (pyramidrefine.methods).
DEFAULT_TILE = 512  # pyramid-tiled's tile; patchwise's is the base size
DEFAULT_OVERLAP = 64  # at most a quarter of the tile
DEFAULT_BASE_SIZE = 256  # when neither the call nor the model gives one
# Colorizers run the network up to this long side; larger photos get its chroma upsampled
# bilinearly under their own full-resolution L (as JPEG's 4:2:0 keeps chroma at half
# resolution): an 8K photo costs a 4K one's network time (docs/benchmarks.md, "Runtimes").
DEFAULT_MAX_NETWORK_SIDE = 4096
MIN_NETWORK_SIDE = 64


@dataclass(frozen=True)
class Method:
    """An inference method's name, the settings it takes and its line of help.

    The builder that runs it is :data:`pyramidrefine.methods.BUILDERS` ``[name]``.
    """

    name: str
    options: frozenset[str]
    help: str


def _method(name: str, options: str, help_text: str) -> Method:
    return Method(name, frozenset(options.split()), help_text)


# The table the library, the command line's help, the demo and the benchmarks read.
METHOD_TABLE: dict[str, Method] = {
    method.name: method
    for method in (
        _method(
            "pyramid",
            "base_size",
            "coarse to fine over a pyramid of scales (the model as trained); levels too "
            "large for the memory budget run tile by tile",
        ),
        _method(
            "pyramid-tiled",
            "base_size tile overlap",
            f"the pyramid, with levels larger than the tile (default {DEFAULT_TILE}) run "
            "tile by tile",
        ),
        _method("baseline", "", "one pass at full resolution"),
        _method(
            "patchwise",
            "base_size tile overlap",
            "one pass at full resolution, tile by tile; the tile defaults to the base size",
        ),
        _method(
            "lowres",
            "base_size",
            "one pass at the base size, colour upsampled bilinearly (as DeOldify, DDColor)",
        ),
        _method(
            "lowres-guided",
            "base_size",
            "lowres, with the upsampled colour aligned to the photo's edges by a guided filter",
        ),
    )
}
METHODS: tuple[str, ...] = tuple(METHOD_TABLE)
# The commands and the demo take no smaller tiles (the library takes any): each tile is a
# generator pass, so tiny tiles multiply the passes (tile=1: one per pixel) for no gain.
MIN_TILE = 64
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnxruntime")


def check_network_side(side: int | None) -> None:
    """Refuse (one line) a ``max_network_side`` that is not ``None`` or an integer of at
    least :data:`MIN_NETWORK_SIDE`."""
    if side is None:
        return
    if isinstance(side, bool) or not isinstance(side, int) or side < MIN_NETWORK_SIDE:
        raise ConfigurationError(
            f"max_network_side must be None (no limit) or a long side of at least "
            f"{MIN_NETWORK_SIDE} pixels, got {side!r}"
        )
