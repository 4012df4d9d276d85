"""benchmarks/hint_rule_probe.py on a tiny colorizer and tiny photos: cache, tries, errors."""

import re
from pathlib import Path

import pytest

from pyramidrefine import hint_propagation

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def probe(import_benchmark):
    return import_benchmark("hint_rule_probe")


def test_the_probe_caches_and_reports_the_rule_and_each_try(
    probe, photo_folder, tiny_colorizer, tmp_path, capsys
):
    tiny_colorizer.save_pretrained(tmp_path / "model")
    cache = tmp_path / "probe.pt"
    arguments = [
        f"--model={tmp_path / 'model'}",
        f"--data=tiny={photo_folder}:3",
        f"--cache={cache}",
        "--count=5",
        "--try=LIKENESS_LARGEST=1 NEAR_CHROMA_EDGE=1000",
    ]
    probe.main(arguments)
    first = capsys.readouterr().out.splitlines()
    assert cache.exists() and len(first) == 2
    assert first[0].startswith("shipped: tiny random=") and "tiny saturated=" in first[0]
    assert first[1].startswith("LIKENESS_LARGEST=1 NEAR_CHROMA_EDGE=1000: ")
    ratios = [float(value) for value in re.findall(r"=([\d.]+)", first[0])]
    assert len(ratios) == 2
    assert 0.0 < ratios[0] < 1.0 and ratios[1] > 0.0  # 5 random true hints help
    assert first[1].split(": ")[1] != first[0].split(": ")[1]  # the try changed the rule
    assert hint_propagation.LIKENESS_LARGEST == 20.0  # the tries leave the rule as shipped
    gone = f"--data=tiny={tmp_path / 'no-such-folder'}:3"
    probe.main([arguments[0], gone, *arguments[2:4]])  # a rerun reads the cache only
    assert capsys.readouterr().out.splitlines() == first[:1]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("--try=FOO=1", "not a constant"),
        ("--try=LIKENESS_LARGEST=x", "NAME=NUMBER"),
        ("--count=0", "give 1..20"),
    ],
)
def test_bad_probe_arguments_are_one_line(probe, tmp_path, capsys, bad, message):
    with pytest.raises(SystemExit):
        probe.main([f"--cache={tmp_path / 'c.pt'}", "--data=x=y:1", bad])
    assert message in capsys.readouterr().err
