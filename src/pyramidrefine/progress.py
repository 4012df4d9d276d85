"""Progress of long runs: the pyramid levels and tiles of one image, and bars over files.

The pyramid's level loop and :func:`~pyramidrefine.tiling.tiled_apply` report where they
are to the callback installed by :func:`reporting` (nothing happens without one)::

    with pr.progress.reporting(print):
        pr.colorize("large.jpg")        # Progress(level=0, levels=4, tiles_done=0, tiles=1) ...

:class:`Bar` counts anything (training's steps), :func:`track` is one over any loop
(``evaluate``'s, the training cache's), :class:`FileProgress` what
``colorize`` and ``predict`` show: one bar over the files,
with the current image's level and tile, on a terminal; plain lines at most every
:data:`PLAIN_INTERVAL_S` seconds elsewhere (logs get no carriage returns or escapes).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TextIO, TypeVar

from tqdm import tqdm

PLAIN_INTERVAL_S = 10.0

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """Where one image's pass is: ``level`` (0 = coarsest) of ``levels``, and within a level
    run tile by tile, ``tiles_done`` of ``tiles`` (a level in one pass has one tile)."""

    level: int
    levels: int
    tiles_done: int = 0
    tiles: int = 1

    def __str__(self) -> str:
        text = f"level {self.level + 1}/{self.levels}"
        return f"{text}, tile {self.tiles_done}/{self.tiles}" if self.tiles > 1 else text


ProgressCallback = Callable[[Progress], None]

_callback: ContextVar[ProgressCallback | None] = ContextVar("progress_callback", default=None)
_level: ContextVar[Progress | None] = ContextVar("progress_level", default=None)


@contextlib.contextmanager
def reporting(callback: ProgressCallback) -> Iterator[None]:
    """Send the :class:`Progress` of every pyramid pass run inside to ``callback``."""
    tokens = _callback.set(callback), _level.set(None)
    try:
        yield
    finally:
        _callback.reset(tokens[0])
        _level.reset(tokens[1])


def level_started(level: int, levels: int) -> None:
    """Report that ``level`` of ``levels`` starts (called by the pyramid's level loop)."""
    callback = _callback.get()
    if callback is not None:
        step = Progress(level, levels)
        _level.set(step)
        callback(step)


def tiles_done(done: int, tiles: int) -> None:
    """Report ``done`` of the current level's ``tiles`` (called by ``tiled_apply``)."""
    callback, step = _callback.get(), _level.get()
    if callback is not None and step is not None:
        callback(dataclasses.replace(step, tiles_done=done, tiles=tiles))


class FileProgress:
    """Progress over ``total`` files on ``stream``: a bar on a terminal, else plain lines.

    ``enabled=False`` shows nothing. Use :meth:`image` around each file's work, :meth:`done`
    after it and :meth:`write` for a line (a problem) that must not break the bar.
    """

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.enabled = enabled
        self.finished = 0
        self.name = ""
        self.last_line = time.monotonic()
        terminal = enabled and self.stream.isatty()
        self.bar = tqdm(total=total, unit="image", file=self.stream) if terminal else None

    @contextlib.contextmanager
    def image(self, name: str) -> Iterator[None]:
        """Show the levels and tiles of the pass over the file ``name`` run inside."""
        self.name = name
        with reporting(self.step):
            yield

    def step(self, progress: Progress) -> None:
        """Show where the current image is."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.name}: {progress}")
        elif self.enabled and time.monotonic() - self.last_line >= PLAIN_INTERVAL_S:
            self.line(f"{self.finished}/{self.total} images; {self.name}: {progress}")

    def done(self) -> None:
        """One more file is finished."""
        self.finished += 1
        if self.bar is not None:
            self.bar.update()
        elif self.enabled and time.monotonic() - self.last_line >= PLAIN_INTERVAL_S:
            self.line(f"{self.finished}/{self.total} images")

    def write(self, text: str) -> None:
        """Print ``text`` on its own line, above the bar if there is one."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def line(self, text: str) -> None:
        """A plain progress line."""
        self.last_line = time.monotonic()
        print(f"progress: {text}", file=self.stream, flush=True)

    def close(self) -> None:
        """Finish the bar."""
        if self.bar is not None:
            self.bar.close()


class Bar:
    """A count towards ``total`` (``None``: unknown) on ``stream``: a bar on a terminal, else
    a plain line at most every :data:`PLAIN_INTERVAL_S` seconds (nothing when not ``enabled``).

    ``initial`` is where a resumed count starts; :meth:`update` takes a ``note`` shown
    beside the count (e.g. the loss of a training step).
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        *,
        unit: str = "image",
        initial: int = 0,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.total, self.desc, self.count, self.enabled = total, desc, initial, enabled
        self.last_line = time.monotonic()
        terminal = enabled and self.stream.isatty()
        self.bar = (
            tqdm(total=total, initial=initial, desc=desc, unit=unit, file=self.stream)
            if terminal
            else None
        )

    def update(self, n: int = 1, note: str = "") -> None:
        """``n`` more done; ``note`` is shown beside the count."""
        self.count += n
        if self.bar is not None:
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(n)
        elif self.enabled and time.monotonic() - self.last_line >= PLAIN_INTERVAL_S:
            self.last_line = time.monotonic()
            total = "" if self.total is None else f"/{self.total}"
            text = f"progress: {self.desc} {self.count}{total}" + (f"; {note}" if note else "")
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Finish the bar."""
        if self.bar is not None:
            self.bar.close()


def track(
    items: Iterable[T],
    desc: str,
    *,
    unit: str = "image",
    enabled: bool = True,
    stream: TextIO | None = None,
) -> Iterator[T]:
    """``items``, counted by a :class:`Bar` (a bar on a terminal, plain lines elsewhere)."""
    if not enabled:
        yield from items
        return
    total = len(items) if isinstance(items, Sized) else None
    bar = Bar(total, desc, unit=unit, stream=stream)
    try:
        for item in items:
            yield item
            bar.update()
    finally:
        bar.close()
