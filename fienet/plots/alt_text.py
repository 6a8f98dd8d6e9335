"""Alt text for every figure a notebook shows.

JupyterLab draws an ``image/png`` output as an ``<img>`` without alt text, whatever the output's
metadata says (its image renderer reads only width, height and background hints). It prefers a
``text/html`` representation when one is present, so :func:`register_alt_text` adds one to every
matplotlib figure the kernel displays: the same PNG in an ``<img>`` that carries an alt text.
The ``image/png`` representation stays, for tools that do not read HTML; both share one
rendering.

The alt text is the figure's label when it has one (``fig.set_label("...")``, what a caller sets
to describe a figure in words), otherwise it is assembled from the suptitle and the panels'
titles and axis labels, which every fienet figure has.
"""

from __future__ import annotations

import base64
import html
from typing import Any, Callable

from matplotlib.figure import Figure

__all__ = ["figure_alt_text", "figure_html", "register_alt_text"]

MAX_ALT_CHARS = 400  # screen readers read it all: say what the figure is, not every tick label


def _panel_text(ax: Any) -> str:
    title = ax.get_title() or ax.get_title("left") or ax.get_title("right")
    axes = [f"{name} {label}" for name, label in (("x:", ax.get_xlabel()), ("y:", ax.get_ylabel())) if label]
    if title and axes:
        return f"{title} ({', '.join(axes)})"
    return title or ", ".join(axes)


def figure_alt_text(fig: Figure) -> str:
    """A one-paragraph description of ``fig`` for screen readers.

    Args:
        fig: any matplotlib figure.

    Returns:
        ``fig.get_label()`` when set; else "<suptitle>. <n> panels: <title (x: label, y: label)>;
        ..." with repeated panel descriptions given once, cut at ``MAX_ALT_CHARS``.
    """
    label = fig.get_label()
    if label:
        return label
    if hasattr(fig, "get_suptitle"):  # matplotlib >= 3.8
        suptitle = fig.get_suptitle()
    else:
        suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    panels = [ax for ax in fig.get_axes() if ax.get_visible()]
    texts = list(dict.fromkeys(t for t in map(_panel_text, panels) if t))  # unique, in order
    words = f"figure, {len(panels)} panel{'s' if len(panels) != 1 else ''}"
    if texts:
        words += ": " + "; ".join(texts)
    alt = f"{suptitle}. {words}" if suptitle else words[0].upper() + words[1:]
    return alt if len(alt) <= MAX_ALT_CHARS else alt[: MAX_ALT_CHARS - 1].rstrip() + "…"


def figure_html(png: bytes | str, alt: str, width: int | None = None) -> str:
    """An ``<img>`` holding ``png`` (bytes, or already base64) inline, with ``alt`` as its alt text."""
    data = png if isinstance(png, str) else base64.b64encode(png).decode("ascii")
    size = f' width="{int(width)}"' if width else ""  # a retina PNG is shown at half its pixels
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}"{size}>'


Rendered = Any  # what a PNG formatter returns: bytes, base64 str, (data, metadata) or None


class _SharedPng:
    """The PNG formatter and the HTML formatter of one display call render the figure once."""

    def __init__(self, render: Callable[[Figure], Rendered]):
        self.render = render
        self.last: tuple[int, Rendered] | None = None

    def html(self, fig: Figure) -> str | None:
        rendered = self.render(fig)
        self.last = (id(fig), rendered)
        data, metadata = rendered if isinstance(rendered, tuple) else (rendered, {})
        return None if data is None else figure_html(data, figure_alt_text(fig), metadata.get("width"))

    def png(self, fig: Figure) -> Rendered:
        # IPython asks for text/html before image/png within one display call.
        if self.last is not None and self.last[0] == id(fig):
            rendered, self.last = self.last[1], None
            return rendered
        return self.render(fig)


def register_alt_text(shell: Any = None) -> bool:
    """Make every matplotlib figure the running IPython kernel displays carry alt text.

    Call it after ``%matplotlib inline`` (``fienet.notebook.setup`` does). Outside IPython, it
    does nothing.

    Args:
        shell: the IPython shell (default: the running one).

    Returns:
        True when the formatters were registered.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters
    png_formatter = formatters["image/png"]
    try:
        current = png_formatter.lookup_by_type(Figure)  # the inline backend's, with its settings
    except KeyError:
        current = None
    if isinstance(getattr(current, "__self__", None), _SharedPng):
        return True  # already registered: a second call must not wrap the wrapper
    if current is None:
        from IPython.core.pylabtools import print_figure

        def current(fig: Figure) -> Rendered:
            return print_figure(fig, "png", bbox_inches="tight")

    shared = _SharedPng(current)
    png_formatter.for_type(Figure, shared.png)
    formatters["text/html"].for_type(Figure, shared.html)
    return True
