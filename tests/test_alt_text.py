"""Figures shown in Jupyter carry alt text: an <img> in text/html beside the usual image/png."""

from __future__ import annotations

import base64
import re
from types import SimpleNamespace

import pytest
from matplotlib.figure import Figure

from fienet.plots.alt_text import MAX_ALT_CHARS, figure_alt_text, figure_html, register_alt_text


def _figure() -> Figure:
    fig = Figure(figsize=(2, 1))
    fig.suptitle("identity 3")
    left, right = fig.subplots(1, 2)
    left.set(title="visible", xlabel="column", ylabel="row")
    right.set(title="infrared")
    return fig


def test_alt_text_from_suptitle_titles_and_labels() -> None:
    assert figure_alt_text(_figure()) == "identity 3. figure, 2 panels: visible (x: column, y: row); infrared"


def test_a_label_is_the_alt_text() -> None:
    fig = _figure()
    fig.set_label("a visible and an infrared image of identity 3, side by side")
    assert figure_alt_text(fig) == "a visible and an infrared image of identity 3, side by side"


def test_repeated_panels_said_once_and_long_text_cut() -> None:
    fig = Figure()
    for ax in fig.subplots(1, 3):
        ax.set_title("id 7 cam 2")
    assert figure_alt_text(fig) == "Figure, 3 panels: id 7 cam 2"
    for i, ax in enumerate(fig.subplots(10, 10).flat):
        ax.set_title(f"panel number {i}")
    alt = figure_alt_text(fig)
    assert len(alt) == MAX_ALT_CHARS and alt.endswith("…")


def test_img_escapes_the_alt_text() -> None:
    html = figure_html(b"\x89PNG", 'a "quoted" <b>')
    assert 'alt="a &quot;quoted&quot; &lt;b&gt;"' in html
    assert base64.b64encode(b"\x89PNG").decode() in html


def test_kernel_display_carries_alt_text_and_renders_once() -> None:
    formatters = pytest.importorskip("IPython.core.formatters")
    shell = SimpleNamespace(display_formatter=formatters.DisplayFormatter())  # a kernel's formatters
    calls = []

    def render(fig: Figure) -> str:  # stands for the inline backend's formatter (base64 PNG)
        calls.append(fig)
        return base64.b64encode(b"png of " + fig.get_suptitle().encode()).decode()

    shell.display_formatter.formatters["image/png"].for_type(Figure, render)
    assert register_alt_text(shell) and register_alt_text(shell)  # a second call changes nothing
    data, _ = shell.display_formatter.format(_figure())
    assert len(calls) == 1  # HTML and PNG share one rendering
    img = re.fullmatch(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)">', data["text/html"])
    assert img and img.group(1) == data["image/png"]
    assert img.group(2).startswith("identity 3. figure, 2 panels")


def test_without_the_inline_backend_figures_are_rendered_here() -> None:
    formatters = pytest.importorskip("IPython.core.formatters")
    shell = SimpleNamespace(display_formatter=formatters.DisplayFormatter())
    assert register_alt_text(shell)
    data, _ = shell.display_formatter.format(_figure())
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert base64.b64encode(data["image/png"]).decode() in data["text/html"]


def test_nothing_to_do_outside_ipython() -> None:
    assert register_alt_text() is False
