"""The demo's default limits, as plain values (its command line is built without torch)."""

from __future__ import annotations

DEFAULT_MAX_SIDE = 2048
MB = 1024**2
DEFAULT_MAX_UPLOAD = 50 * MB  # bytes of one uploaded file
# Pixels the generators may go over for one request: every method on a 2048-pixel photo
# with the smallest tiles stays under it (about 27 million).
DEFAULT_MAX_WORK = 32_000_000
