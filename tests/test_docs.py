"""The documentation site builds offline, without a single warning."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_docs_build_strict(tmp_path):
    pytest.importorskip("mkdocstrings")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "WARNING" not in result.stderr, result.stderr[-4000:]
    assert (tmp_path / "reference" / "model" / "index.html").is_file()


def _python_blocks(markdown: str) -> list[str]:
    return [block.split("```")[0] for block in markdown.split("```python\n")[1:]]


def test_readme_api_example_predicts_in_eval_mode():
    api = next(b for b in _python_blocks((ROOT / "README.md").read_text()) if "CoarseToFine(" in b)
    first_call = api.index("model(")
    assert ".eval()" in api[:first_call] and "torch.no_grad()" in api[:first_call]


def test_quickstart_predicts_in_eval_mode():
    block = _python_blocks((ROOT / "docs" / "quickstart.md").read_text())[0]
    assert block.index(".eval()") < block.index("model(x)")


def test_readme_names_the_export_extra():
    assert 'pip install -e ".[export]"' in (ROOT / "README.md").read_text()


def test_extras_are_installed_from_a_clone_in_docs_and_messages():
    """pyramidrefine is not on PyPI: pip install "pyramidrefine[extra]" would fail."""
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "configs").glob("*")]
    files += [p for p in (ROOT / "src").rglob("*.py") if p.name != "extras.py"]  # it writes it
    offending = [
        str(p.relative_to(ROOT)) for p in files if 'install "pyramidrefine[' in p.read_text()
    ]
    assert offending == []


def test_every_docs_page_is_in_the_navigation():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")]
    missing = [page for page in pages if page not in nav]
    assert not missing, f"not in mkdocs.yml nav: {missing}"


def test_built_site_is_ignored_by_git():
    assert "/site/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_training_docs_name_the_pinned_torch_pair():
    """constraints.txt pins torch and torchvision built for each other: no launcher caveat."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line.startswith(("torch==", "torchvision==")))
    text = (ROOT / "docs" / "training.md").read_text()
    assert f"torch {pins['torch']} with torchvision {pins['torchvision']}" in text
    assert "do not match torch" not in text and "torchrun --nproc_per_node N" in text
