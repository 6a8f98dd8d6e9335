"""The one progress display: stderr on the command line, plain text on stdout in a Jupyter kernel."""

from __future__ import annotations

import pytest
from tqdm import tqdm

from fienet import progress as progress_module
from fienet.progress import in_notebook, progress


def test_outside_a_kernel_the_bar_goes_to_stderr(capsys: pytest.CaptureFixture) -> None:
    assert not in_notebook()
    for _ in progress(range(3), desc="steps"):
        pass
    out, err = capsys.readouterr()
    assert out == ""
    assert "steps: 100%" in err and "3/3" in err


def test_in_a_kernel_the_bar_is_text_on_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(progress_module, "in_notebook", lambda: True)
    bar = progress(total=4, desc="CAMs")
    assert type(bar) is tqdm  # the plain class, not tqdm.notebook's widget
    bar.update(4)
    bar.close()
    out, err = capsys.readouterr()
    assert err == ""
    assert "CAMs: 100%" in out and "4/4" in out
    assert max(len(line) for line in out.replace("\r", "\n").splitlines()) <= progress_module.NOTEBOOK_COLUMNS


def test_disabled_bar_writes_nothing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    for notebook in (False, True):
        monkeypatch.setattr(progress_module, "in_notebook", lambda: notebook)
        assert list(progress(range(2), disable=True)) == [0, 1]
    assert capsys.readouterr() == ("", "")


def test_in_a_real_kernel_no_widget_and_no_stderr() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cell = nbformat.v4.new_code_cell(
        "from fienet.progress import in_notebook, progress\n"
        "print(in_notebook())\n"
        "for _ in progress(range(5), desc='epoch 1'):\n"
        "    pass"
    )
    nb = nbformat.v4.new_notebook(cells=[cell])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert {o.output_type for o in outputs} == {"stream"}  # no display_data: no widget to lose
    assert {o.name for o in outputs} == {"stdout"}  # nothing in JupyterLab's pink stderr box
    text = "".join(o.text for o in outputs)
    assert text.startswith("True\n") and "epoch 1: 100%" in text
