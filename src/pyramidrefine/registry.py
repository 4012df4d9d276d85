"""Name → factory registries for generators, discriminators, losses and tasks, with plugins.

Modelled on timm's ``register_model`` / ``create_model`` / ``list_models``: a decorator puts
a factory under a name, ``create_*`` builds it, ``list_*`` lists names with wildcards.
Third-party packages register their own entries through the entry-point group
``pyramidrefine.plugins``: each entry point names a module (imported, so its decorators run)
or a callable (called once with no arguments). A plain Python file or module of one's own
needs no package: ``load_module("my_task.py")`` (CLI: ``--import my_task.py``).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import importlib.util
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from .errors import ConfigurationError, UnknownNameError

PLUGIN_GROUP = "pyramidrefine.plugins"

F = TypeVar("F", bound=Callable[..., Any])


class Registry:
    """A named table of factories (functions or classes) of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., Any]] = {}

    def register(self, name: str | None = None, *, override: bool = False) -> Callable[[F], F]:
        """Decorator that registers a factory under ``name`` (default: its ``__name__``)."""

        def decorator(factory: F) -> F:
            key = name or factory.__name__
            if key in self._factories and not override:
                raise ValueError(
                    f"a {self.kind} named {key!r} is already registered; "
                    "pass override=True to replace it"
                )
            self._factories[key] = factory
            return factory

        return decorator

    def get(self, name: str) -> Callable[..., Any]:
        """Return the factory registered under ``name``; unknown names list the known ones."""
        load_entries()
        try:
            return self._factories[name]
        except KeyError:
            raise UnknownNameError(self._unknown_name_message(name)) from None

    def create(self, name: str, **kwargs: Any) -> Any:
        """Build the entry registered under ``name`` with ``kwargs``; keywords it does not
        take are refused in one line that lists the ones it does."""
        factory = self.get(name)
        try:
            parameters = inspect.signature(factory).parameters
        except (TypeError, ValueError):  # a builtin without a signature: let it decide
            return factory(**kwargs)
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        unknown = [key for key in kwargs if key not in parameters]
        if unknown and not takes_any:
            named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            known = ", ".join(k for k, p in parameters.items() if p.kind in named) or "none"
            raise ConfigurationError(
                f"{self.kind} {name!r} takes no argument {', '.join(map(repr, unknown))} "
                f"(its arguments: {known}); remove it or choose another {self.kind}"
            )
        return factory(**kwargs)

    def list(self, filter: str | Iterable[str] = "*") -> list[str]:
        """Sorted registered names matching one or several shell-style wildcards."""
        load_entries()
        patterns = [filter] if isinstance(filter, str) else list(filter)
        return sorted(n for n in self._factories if any(fnmatch.fnmatch(n, p) for p in patterns))

    def __contains__(self, name: object) -> bool:
        load_entries()
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self.list())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.list()})"

    def _unknown_name_message(self, name: str) -> str:
        known = sorted(self._factories)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        listed = ", ".join(known) if known else "none"
        return f"unknown {self.kind} {name!r}.{hint} Known {self.kind}s: {listed}."


# The modules that register pyramidrefine's own entries: imported at the first look-up,
# so that importing the package (and building the command line) stays light.
BUILTIN_MODULES = (
    "pyramidrefine.generators",
    "pyramidrefine.discriminators",
    "pyramidrefine.losses",
    "pyramidrefine.tasks",
)

GENERATORS = Registry("generator")
DISCRIMINATORS = Registry("discriminator")
LOSSES = Registry("loss")
TASKS = Registry("task")

_plugins_loaded = False


def load_entries() -> None:
    """Register pyramidrefine's own entries (:data:`BUILTIN_MODULES`), then the plugins'."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    load_plugins()


def load_plugins(*, reload: bool = False) -> list[str]:
    """Load the ``pyramidrefine.plugins`` entry points once; return the names loaded.

    A plugin that fails to load is reported with a warning and skipped, so one broken
    package cannot make the library unusable.
    """
    global _plugins_loaded
    if _plugins_loaded and not reload:
        return []
    _plugins_loaded = True
    loaded = []
    for entry_point in entry_points(group=PLUGIN_GROUP):
        try:
            target = entry_point.load()
            if callable(target):
                target()
        except Exception as error:  # a third-party failure must not break the library
            warnings.warn(
                f"pyramidrefine plugin {entry_point.name!r} ({entry_point.value}) failed to load "
                f"and was skipped: {type(error).__name__}: {error}",
                stacklevel=2,
            )
            continue
        loaded.append(entry_point.name)
    return loaded


def load_module(name_or_path: str | os.PathLike) -> ModuleType:
    """Import a module of one's own so that its ``@register_*`` decorators run.

    ``name_or_path`` is a Python file (``path/to/my_task.py``, imported as module
    ``my_task``) or an importable module name (``mypackage.tasks``). Loading the same file
    twice returns the module loaded first. Any failure is a
    :class:`~pyramidrefine.errors.ConfigurationError` naming the module and the error.
    """
    text = os.fspath(name_or_path)
    try:
        if text.endswith(".py") or os.sep in text or "/" in text:
            return _load_file(Path(text).expanduser())
        return importlib.import_module(text)
    except ConfigurationError:
        raise
    except Exception as error:  # the user's code: any error becomes one line
        first = str(error).splitlines()[0] if str(error).strip() else ""
        detail = f"{type(error).__name__}: {first}" if first else type(error).__name__
        raise ConfigurationError(f"cannot import {text} ({detail})") from None


def _load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise ConfigurationError(f"cannot import {path}: no such file")
    resolved = path.resolve()
    loaded = sys.modules.get(path.stem)
    if loaded is not None and getattr(loaded, "__file__", None) == str(resolved):
        return loaded
    if loaded is not None:
        raise ConfigurationError(
            f"cannot import {path}: a module named {path.stem} is already imported; rename the file"
        )
    spec = importlib.util.spec_from_file_location(path.stem, resolved)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[path.stem]
        raise
    return module


register_generator = GENERATORS.register
register_discriminator = DISCRIMINATORS.register
register_loss = LOSSES.register
register_task = TASKS.register

create_generator = GENERATORS.create
create_discriminator = DISCRIMINATORS.create
create_loss = LOSSES.create
create_task = TASKS.create

list_generators = GENERATORS.list
list_discriminators = DISCRIMINATORS.list
list_losses = LOSSES.list
list_tasks = TASKS.list
