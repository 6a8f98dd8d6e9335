"""Notebook outputs never reach git: the Makefile's nbstripout filter, run in a scratch repository."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def _notebook_with_outputs() -> dict:
    nbformat = pytest.importorskip("nbformat")
    cell = nbformat.v4.new_code_cell("print('hello')", id="cell-00")
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    return nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def test_gitattributes_sends_notebooks_through_nbstripout() -> None:
    lines = (REPO / ".gitattributes").read_text().splitlines()
    assert "*.ipynb filter=nbstripout diff=ipynb" in lines


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_git_add_stores_a_notebook_without_outputs(tmp_path: Path) -> None:
    pytest.importorskip("nbstripout")
    repo = tmp_path / "clone"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(REPO / ".gitattributes", repo / ".gitattributes")
    # The Makefile's own recipe, with this interpreter standing for .venv's.
    make = ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), f"PY={sys.executable}", "git-filter"]
    for _ in range(2):  # idempotent: a second run changes nothing and does not fail
        subprocess.run(make, cwd=repo, check=True, capture_output=True)
    assert _git(repo, "config", "--get-all", "filter.nbstripout.clean").count("nbstripout") == 1

    path = repo / "lesson.ipynb"
    path.write_text(json.dumps(_notebook_with_outputs(), indent=1))
    _git(repo, "add", "lesson.ipynb")
    stored = json.loads(_git(repo, "show", ":lesson.ipynb"))
    cell = stored["cells"][0]
    assert cell["outputs"] == [] and cell["execution_count"] is None
    assert cell["id"] == "cell-00" and "".join(cell["source"]) == "print('hello')"
    # The working copy keeps its outputs; only what git stores is stripped.
    assert json.loads(path.read_text())["cells"][0]["outputs"]
    # and does not show as modified: git compares the stripped working copy with what it stores.
    assert _git(repo, "status", "--porcelain", "lesson.ipynb").splitlines() == ["A  lesson.ipynb"]
