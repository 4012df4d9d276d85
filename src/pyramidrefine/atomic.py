"""Atomic writes: a file or folder appears complete under its name, or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    On error the temporary file or folder is removed and ``target`` is left untouched.
    A folder replaces an existing one by two renames (the old one is deleted afterwards).
    The result gets the permissions of a newly created file or folder (``0o666`` or
    ``0o777`` less the umask), not the owner-only ones of temporary files.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.tmp-"
    if directory:
        temporary = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    else:
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=target.suffix, dir=target.parent)
        os.close(handle)
        temporary = Path(name)
    try:
        temporary.chmod(new_file_mode(directory=directory))
        yield temporary
        if directory and target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(temporary, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(temporary, target)
    except BaseException:
        if temporary.is_dir():
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)
        raise


def new_file_mode(*, directory: bool = False) -> int:
    """Permissions of a newly created file (``0o666``) or folder (``0o777``) less the umask."""
    return (0o777 if directory else 0o666) & ~_umask()


def _umask() -> int:
    umask = os.umask(0o022)  # reading the umask means setting it; set it straight back
    os.umask(umask)
    return umask


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``target`` atomically."""
    with atomic_path(target) as temporary:
        temporary.write_text(text)
