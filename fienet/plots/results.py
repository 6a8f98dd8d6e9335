"""Result figures: CMC curves and a grouped bar chart of Rank-1 / mAP / mINP per method."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def cmc_curves(
    curves: Mapping[str, np.ndarray],
    max_rank: int = 20,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Plot the CMC curves of several methods or settings on one axes.

    Args:
        curves: name -> CMC of shape (R,), fractions in [0, 1] with rank 1 first (entry r is
            the fraction of queries with a true match within the top r + 1).
        max_rank: last rank drawn.
        title: axes title.
        ax: axes to draw into; a new Figure by default.

    Returns:
        The Figure; the legend gives each curve's Rank-1 in percent.

    Raises:
        ValueError: no curves, or a curve that is not 1-D, not in [0, 1] (percentages passed by
            mistake) or decreasing.
    """
    if not curves:
        raise ValueError("curves is empty; expected at least one name -> CMC array")
    if max_rank < 1:
        raise ValueError(f"max_rank={max_rank}; expected >= 1")
    fig = ax.figure if ax is not None else Figure(figsize=(5.0, 3.8), layout="constrained")
    ax = ax if ax is not None else fig.subplots()
    for name, curve in curves.items():
        cmc = np.asarray(curve, dtype=np.float64)
        if cmc.ndim != 1 or cmc.size == 0 or not np.isfinite(cmc).all():
            raise ValueError(f"CMC '{name}' has shape {cmc.shape}; expected finite values of "
                             "shape (R,) with R >= 1")
        if cmc.min() < 0.0 or cmc.max() > 1.0:
            raise ValueError(f"CMC '{name}' spans [{cmc.min():g}, {cmc.max():g}]; expected "
                             "fractions in [0, 1], not percentages")
        if np.any(np.diff(cmc) < -1e-9):
            raise ValueError(f"CMC '{name}' decreases with rank; expected a cumulative curve")
        cmc = cmc[:max_rank]
        ranks = np.arange(1, cmc.size + 1)
        ax.plot(ranks, 100.0 * cmc, marker="o" if cmc.size <= 30 else None, markersize=3,
                label=f"{name} (R1 {100.0 * cmc[0]:.1f}%)")
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(top=100.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    return fig


def metric_table_bar(
    df: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    method: str | None = "method",
    ylabel: str = "score (%)",
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Grouped bar chart: one group per metric, one bar per method.

    Several rows of one method (e.g. the ten RegDB trials) are averaged and drawn with a
    standard-deviation error bar.

    Args:
        df: results table, one row per method (or per method and trial).
        metrics: metric columns to draw, in order; by default every numeric column.
        method: column naming the method; None uses the index.
        ylabel: y-axis label (values are drawn as given, e.g. in percent).
        title: axes title.
        ax: axes to draw into; a new Figure by default.

    Returns:
        The Figure, with the mean value printed inside each bar.

    Raises:
        KeyError: ``method`` or a metric column is missing.
        ValueError: no metric column to draw.
    """
    table = df.reset_index() if method is None else df
    key = table.columns[0] if method is None else method
    if key not in table.columns:
        raise KeyError(f"method column '{key}' not in the table; columns are {list(df.columns)}")
    if metrics is None:
        metrics = [c for c in table.columns if c != key and pd.api.types.is_numeric_dtype(table[c])]
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise KeyError(f"metric columns {missing} not in the table; columns are {list(df.columns)}")
    if not metrics:
        raise ValueError(f"no numeric metric column to draw; columns are {list(df.columns)}")

    long = table.melt(id_vars=[key], value_vars=list(metrics), var_name="metric",
                      value_name="value")  # (rows * metrics, 3)
    long[key] = long[key].astype(str)
    fig = ax.figure if ax is not None else Figure(figsize=(1.6 + 1.4 * len(metrics), 3.6),
                                                  layout="constrained")
    ax = ax if ax is not None else fig.subplots()
    sns.barplot(data=long, x="metric", y="value", hue=key, errorbar="sd", ax=ax)
    for container in ax.containers:
        # Inside the bar, so that the value never collides with the error bar above it.
        ax.bar_label(container, fmt="%.1f", fontsize=7, label_type="center", color="white")
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.legend(title=None, fontsize=8)
    if title:
        ax.set_title(title)
    return fig
