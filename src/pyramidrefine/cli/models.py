"""``pyramidrefine models``: the models shipped with pyramidrefine, by name, and what each is."""

from __future__ import annotations

import argparse

from .arguments import add_command

HELP = "list the shipped models by name"
DESCRIPTION = """\
List the models that ship with pyramidrefine: the name that --model takes in colorize,
predict, evaluate, export and demo, the task, the size of the weights and what it is.
`default` names the default colorizer. In Python: pyramidrefine.list_models() and
pyramidrefine.model_info(name).
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register the ``models`` subcommand."""
    parser = add_command(commands, "models", HELP, DESCRIPTION)
    parser.add_argument(
        "patterns",
        nargs="*",
        default=["*"],
        metavar="PATTERN",
        help="shell-style wildcards the names must match, e.g. 'color*' (default: all)",
    )


def run(args: argparse.Namespace) -> int:
    """Print one line per matching model; returns the exit code (1: none matched)."""
    from ..pretrained import ALIASES, list_models, model_info

    names = list_models(args.patterns)
    if not names:
        print(f"no shipped model matches {' '.join(args.patterns)}")
        return 1
    rows = [("name", "task", "size", "description")]
    for name in names:
        info = model_info(name)
        aliases = [alias for alias, target in ALIASES.items() if target == name]
        label = f"{name} ({', '.join(aliases)})" if aliases else name
        size = f"{info.size_bytes / 1e6:.1f} MB" if info.size_bytes else "not installed"
        rows.append((label, info.task, size, info.description))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        print("  ".join([*cells, row[3]]))
    return 0
