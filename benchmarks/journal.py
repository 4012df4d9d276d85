"""A journal of finished measurements, so that an interrupted benchmark run can resume.

Every measurement that succeeds is appended as one JSON line ``{"spec": ..., "result": ...}``
to ``measurements.jsonl`` in the output folder. A run started with ``--resume`` reuses the
result of every spec it finds there unchanged (same method, size, images, model, settings,
device, threads …) and measures only the rest; without ``--resume`` the journal starts anew.
Failed measurements are not journalled, so a resumed run tries them again. With
``--report-only`` nothing is measured: what the journal lacks is reported as not measured.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

Spec = dict[str, Any]
Result = dict[str, Any]


class Journal:
    """Measurements keyed by their spec, read from and appended to ``path``."""

    def __init__(self, path: Path, *, resume: bool, measure_missing: bool = True) -> None:
        self.path = path
        self.measure_missing = measure_missing
        self.done: dict[str, Result] = {}
        self.reused = 0
        if resume and path.exists():
            for line in path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # a line cut short when the run was killed
                    continue
                self.done[_key(entry["spec"])] = entry["result"]
        else:
            path.unlink(missing_ok=True)

    def measure(self, spec: Spec, run: Callable[[Spec], Result]) -> Result:
        """The journalled result of ``spec``, or ``run(spec)``, journalled if it succeeded."""
        key = _key(spec)
        saved = spec.get("save_prediction")
        if key in self.done and (not saved or Path(saved).exists()):
            self.reused += 1
            return self.done[key]
        if not self.measure_missing:
            return {"error": "not measured"}
        result = run(spec)
        if "error" not in result:
            self.done[key] = result
            line = json.dumps({"spec": spec, "result": result}, default=str) + "\n"
            with self.path.open("a") as journal:
                journal.write(line)
                journal.flush()
                os.fsync(journal.fileno())
        return result


def _key(spec: Spec) -> str:
    return json.dumps(spec, sort_keys=True, default=str)
