"""The named choices that the library, the command line and the demo share.

Plain values, importable without torch, so that building the command line (``pyramidrefine
--help``) imports nothing heavy.
"""

from __future__ import annotations

METHODS = ("pyramid", "pyramid-tiled", "baseline", "patchwise", "lowres", "lowres-guided")
# The commands and the demo take no smaller tiles (the library takes any): each tile is a
# generator pass, so tiny tiles multiply the passes (tile=1: one per pixel) for no gain.
MIN_TILE = 64
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
BACKENDS: tuple[str, ...] = ("auto", "torch", "onnxruntime")
