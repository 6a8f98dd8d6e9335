"""One progress display for the command line and the notebooks.

Every progress bar in fienet (training epochs, feature extraction, CAMs, data generation) comes
from :func:`progress`, a thin wrapper around :class:`tqdm.tqdm`, so they all look the same.

- On the command line the bar is tqdm's usual one on stderr (stdout stays clean for output that
  may be piped).
- In a Jupyter kernel the bar is plain text written to **stdout**, redrawn in place with carriage
  returns. Two things this avoids: tqdm's notebook bars are ipywidgets, which a saved and reopened
  notebook can no longer draw ("Error displaying widget: model not found"); and text on stderr,
  which JupyterLab paints in a pink box that reads like a warning. Plain text survives a save,
  a reopen and an HTML export, and needs no widget extension.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable

from tqdm import tqdm

__all__ = ["in_notebook", "progress"]

NOTEBOOK_COLUMNS = 100  # width of the text bar in a notebook (a kernel has no terminal to ask)
NOTEBOOK_MININTERVAL = 0.5  # seconds between redraws in a notebook: fewer output messages


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, nbclient), False in a terminal or IPython."""
    ipython = sys.modules.get("IPython")  # never import IPython just to ask
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    desc: str | None = None,
    total: int | None = None,
    leave: bool = True,
    disable: bool = False,
    **kwargs: Any,
) -> tqdm:
    """A progress bar over ``iterable`` (or one updated by hand with ``total``), as ``tqdm`` takes.

    Args:
        iterable: what to iterate over; None for a bar advanced with ``bar.update(n)``.
        desc: label before the bar.
        total: number of steps (default: ``len(iterable)`` when it has one).
        leave: keep the finished bar on screen.
        disable: no output at all (e.g. on every process but the first of a distributed run).
        **kwargs: any other ``tqdm`` argument; they win over the notebook defaults.

    Returns:
        a ``tqdm.tqdm`` (never a widget), to iterate over or to ``update`` and ``close``.
    """
    if in_notebook():
        kwargs.setdefault("file", sys.stdout)  # looked up now: the kernel replaces sys.stdout
        kwargs.setdefault("ncols", NOTEBOOK_COLUMNS)
        kwargs.setdefault("mininterval", NOTEBOOK_MININTERVAL)
    return tqdm(iterable, desc=desc, total=total, leave=leave, disable=disable, **kwargs)
