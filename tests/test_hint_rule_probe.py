"""benchmarks/hint_rule_probe.py on a tiny colorizer and tiny photos: cache, tries, errors."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine import hint_propagation

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def probe():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import hint_rule_probe
    finally:
        sys.path.pop(0)
    return hint_rule_probe


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """4 colourful photos of 48×64 px and a tiny guide-free colorizer, saved."""
    root = tmp_path_factory.mktemp("hint-probe")
    photos = root / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        small = (rng.random((4, 5, 3)) * 255).astype(np.uint8)
        Image.fromarray(small).resize((64, 48), Image.BICUBIC).save(photos / f"{i}.png")
    torch.manual_seed(0)
    pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    ).eval().save_pretrained(root / "model")
    return root


def test_the_probe_caches_and_reports_the_rule_and_each_try(probe, setup, tmp_path, capsys):
    cache = tmp_path / "probe.pt"
    arguments = [
        f"--model={setup / 'model'}",
        f"--data=tiny={setup / 'photos'}:3",
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
    (setup / "photos" / "0.png").rename(setup / "moved.png")  # a rerun reads the cache only
    try:
        probe.main(arguments[:4])
    finally:
        (setup / "moved.png").rename(setup / "photos" / "0.png")
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
