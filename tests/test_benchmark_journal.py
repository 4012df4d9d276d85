"""The benchmark's journal: an interrupted run resumes without measuring anything twice."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from journal import Journal


class Counter:
    """A measurement that counts its calls and fails for ``spec["fail"]``."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, spec):
        self.calls += 1
        return {"error": "killed"} if spec.get("fail") else {"seconds": spec["size"] / 10}


@pytest.fixture
def path(tmp_path):
    return tmp_path / "measurements.jsonl"


def test_resumed_run_reuses_identical_specs_only(path):
    first = Counter()
    journal = Journal(path, resume=False)
    assert journal.measure({"size": 64, "images": [("data", "a.png")]}, first) == {"seconds": 6.4}
    assert journal.measure({"size": 128}, first) == {"seconds": 12.8}
    resumed, again = Journal(path, resume=True), Counter()
    assert resumed.measure({"images": [("data", "a.png")], "size": 64}, again) == {"seconds": 6.4}
    assert resumed.measure({"size": 128}, again) == {"seconds": 12.8}
    assert again.calls == 0 and resumed.reused == 2
    resumed.measure({"size": 256}, again)  # a spec not journalled is measured
    assert again.calls == 1


def test_failures_are_measured_again(path):
    journal, counter = Journal(path, resume=False), Counter()
    assert "error" in journal.measure({"size": 64, "fail": True}, counter)
    Journal(path, resume=True).measure({"size": 64, "fail": True}, counter)
    assert counter.calls == 2


def test_a_line_cut_short_by_a_kill_is_skipped(path):
    Journal(path, resume=False).measure({"size": 64}, Counter())
    with path.open("a") as journal:
        journal.write('{"spec": {"size": 128}, "res')
    counter = Counter()
    resumed = Journal(path, resume=True)
    resumed.measure({"size": 64}, counter)
    resumed.measure({"size": 128}, counter)
    assert counter.calls == 1


def test_without_resume_the_journal_starts_anew(path):
    Journal(path, resume=False).measure({"size": 64}, Counter())
    counter = Counter()
    Journal(path, resume=False).measure({"size": 64}, counter)
    assert counter.calls == 1 and len(path.read_text().splitlines()) == 1


def test_a_missing_grid_panel_is_measured_again(path, tmp_path):
    panel = tmp_path / "baseline-1024.png"
    spec = {"size": 64, "save_prediction": str(panel)}
    Journal(path, resume=False).measure(spec, Counter())
    counter = Counter()
    Journal(path, resume=True).measure(spec, counter)
    assert counter.calls == 1
    panel.write_bytes(b"png")
    Journal(path, resume=True).measure(spec, counter)
    assert counter.calls == 1


def test_report_only_measures_nothing(path):
    Journal(path, resume=False).measure({"size": 64}, Counter())
    counter = Counter()
    offline = Journal(path, resume=True, measure_missing=False)
    assert offline.measure({"size": 64}, counter) == {"seconds": 6.4}
    assert offline.measure({"size": 128}, counter) == {"error": "not measured"}
    assert counter.calls == 0 and len(path.read_text().splitlines()) == 1
