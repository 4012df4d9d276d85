"""Atomic writes: a file or folder appears complete under its name, or not at all."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigurationError

# A temporary of atomic_path is named ".NAME.tmp-PID-RANDOM[.EXT]" (before the PID marker:
# ".NAME.tmp-RANDOM[.EXT]"), RANDOM being tempfile's eight characters.
_TEMPORARY = re.compile(r"\..+\.tmp-(?:(?P<pid>\d+)-)?[a-z0-9_]{8}(?:\.[^.]*)?")
STALE_SECONDS = 60.0  # a dead process's temporary older than this is removed
ABANDONED_SECONDS = 24 * 3600.0  # any temporary older than this is removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    On error the temporary file or folder is removed and ``target`` is left untouched.
    A folder replaces an existing one by two renames (the old one is deleted afterwards).
    The result gets the permissions of a newly created file or folder (``0o666`` or
    ``0o777`` less the umask), not the owner-only ones of temporary files. The temporary's
    name holds this process's id, so that :func:`remove_stale_temporaries` can tell the
    leftovers of a killed process from the files a running one is writing.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.tmp-{os.getpid()}-"
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


def temporaries_of(target: str | os.PathLike) -> list[Path]:
    """The temporaries that :func:`atomic_path` has made, or left, for ``target``."""
    target = Path(target)
    candidates = target.parent.glob(f".{glob.escape(target.name)}.tmp-*")
    return [path for path in candidates if _TEMPORARY.fullmatch(path.name)]


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove what :func:`atomic_path` left in ``folder`` when its process was killed.

    A temporary is stale when the process named in it no longer runs here and it has not
    changed for :data:`STALE_SECONDS` (a process of another machine or container writing
    into the same folder is not disturbed while it writes), or when it has not changed for
    :data:`ABANDONED_SECONDS` (a day: one without a process id in its name, or whose
    id a new process has taken). Returns the paths removed.
    """
    removed = []
    now = time.time()
    for path in Path(folder).glob(".*.tmp-*"):
        match = _TEMPORARY.fullmatch(path.name)
        if match is None:
            continue
        try:
            age = now - path.lstat().st_mtime
        except OSError:
            continue  # gone meanwhile
        pid = match["pid"]
        orphaned = pid is not None and age > STALE_SECONDS and not _running(int(pid))
        if orphaned or age > ABANDONED_SECONDS:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or not a process id: keep its file
    return True


def ensure_writable_folder(folder: str | os.PathLike, what: str = "folder") -> Path:
    """Create ``folder`` (and its parents) if needed and check that files can be written
    into it, by writing and removing one; a one-line :class:`ConfigurationError` naming it
    as ``what`` if not."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigurationError(f"{folder}: is a file, not a folder; give a {what}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(
            f"{folder}: cannot create the {what} ({error.strerror or error}); give another one"
        ) from None
    try:
        handle, name = tempfile.mkstemp(prefix=f".write-check.tmp-{os.getpid()}-", dir=folder)
        os.close(handle)
        os.unlink(name)
    except OSError as error:
        raise ConfigurationError(
            f"{folder}: cannot write into the {what} ({error.strerror or error}); give another "
            "one or fix its permissions"
        ) from None
    return folder


def ensure_writable_file(target: str | os.PathLike) -> Path:
    """Check that ``target`` can be written atomically (not a folder, its folder created and
    writable) before the work that produces it; a one-line :class:`ConfigurationError` if not."""
    target = Path(target)
    if target.is_dir():
        raise ConfigurationError(f"{target}: is a folder; give a file name")
    ensure_writable_folder(target.parent)
    return target
