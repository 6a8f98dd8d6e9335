"""Training curves: loss parts, learning rate and validation scores per epoch."""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

DEFAULT_LOSSES: tuple[str, ...] = ("loss", "id", "triplet", "igcl")
DEFAULT_METRICS: tuple[str, ...] = ("rank1", "mAP", "mINP")


def _columns(df: pd.DataFrame, wanted: Sequence[str] | None, default: Sequence[str],
             what: str) -> list[str]:
    """Columns to draw: every explicitly ``wanted`` one (all must exist) or the present defaults."""
    if wanted is None:
        return [c for c in default if c in df.columns]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise KeyError(f"{what} columns {missing} not in history; columns are {list(df.columns)}")
    return list(wanted)


def training_curves(
    history: pd.DataFrame | Sequence[Mapping[str, float]],
    losses: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    lr: str | None = "lr",
    epoch: str = "epoch",
) -> Figure:
    """Draw a training history in two or three panels side by side.

    Panels: the loss and its parts; the learning rate (log scale) when an ``lr`` column
    exists; validation scores when metric columns exist (rows where they are NaN, i.e. epochs
    without validation, are left out; a run without any validation says so in the panel).

    Args:
        history: one row per epoch, as a DataFrame or a list of dicts.
        losses: loss columns; by default those of ``DEFAULT_LOSSES`` that exist.
        metrics: validation columns; by default those of ``DEFAULT_METRICS`` that exist.
        lr: learning-rate column, or None for no learning-rate panel.
        epoch: epoch column (x axis).

    Returns:
        A Figure with 1 + (lr column present) + (metric columns present) axes.

    Raises:
        ValueError: the history is empty.
        KeyError: the epoch column or every loss column is missing, or a requested column is.
    """
    df = pd.DataFrame(list(history)) if not isinstance(history, pd.DataFrame) else history
    if df.empty:
        raise ValueError("history is empty; expected one row per epoch")
    if epoch not in df.columns:
        raise KeyError(f"epoch column '{epoch}' not in history; columns are {list(df.columns)}")
    loss_cols = _columns(df, losses, DEFAULT_LOSSES, "loss")
    if not loss_cols:
        raise KeyError(f"none of the loss columns {list(DEFAULT_LOSSES)} in history; columns are "
                       f"{list(df.columns)}; pass losses=[...] to name them")
    metric_cols = _columns(df, metrics, DEFAULT_METRICS, "metric")
    has_lr = lr is not None and lr in df.columns
    df = df.sort_values(epoch)

    n_panels = 1 + int(has_lr) + int(bool(metric_cols))
    fig = Figure(figsize=(4.2 * n_panels, 3.4), layout="constrained")
    axes = list(fig.subplots(1, n_panels, squeeze=False)[0])

    ax = axes.pop(0)
    for col in loss_cols:
        # The total is the curve to read first; its parts are drawn thinner beside it.
        ax.plot(df[epoch], df[col], label=col, linewidth=2.2 if col == "loss" else 1.2)
    ax.set_title("training loss")
    ax.set_xlabel(epoch)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    if has_lr:
        ax = axes.pop(0)
        ax.plot(df[epoch], df[lr], color="black")
        if (df[lr] > 0).all():
            ax.set_yscale("log")  # warm-up and step decays span several decades
        ax.set_title("learning rate")
        ax.set_xlabel(epoch)
        ax.grid(alpha=0.3)

    if metric_cols:
        ax = axes.pop(0)
        drawn = 0
        for col in metric_cols:
            rows = df[[epoch, col]].dropna()
            if not rows.empty:
                ax.plot(rows[epoch], rows[col], marker="o", markersize=3, label=col)
                drawn += 1
        if drawn:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no validation scores", ha="center", va="center",
                    transform=ax.transAxes, color="#888888")
        ax.set_title("validation")
        ax.set_xlabel(epoch)
        ax.grid(alpha=0.3)
    return fig


def module_readout_bars(table: pd.DataFrame, title: str = "what PFAM and MPIM learnt") -> Figure:
    """Bars of :func:`fienet.model.readout.module_readout`: gates and shares, then contributions.

    Args:
        table: columns ``module``, ``part``, ``modality``, ``value``.
        title: figure title.
    """
    from fienet.plots.images import MODALITY_COLORS

    fig = Figure(figsize=(9, 3.2), layout="constrained")
    kinds = (("gates and branch shares (0..1)", ~table.part.str.startswith("contribution")),
             ("contribution |added| / |input|", table.part.str.startswith("contribution")))
    axes = fig.subplots(1, 2)
    for ax, (label, pick) in zip(axes, kinds):
        sub = table[pick]
        parts = list(dict.fromkeys(sub.module + ": " + sub.part))
        modalities = list(dict.fromkeys(sub.modality))
        width = 0.8 / max(len(modalities), 1)
        for j, modality in enumerate(modalities):
            rows = sub[sub.modality == modality]
            values = dict(zip(rows.module + ": " + rows.part, rows.value))
            colour = MODALITY_COLORS.get(modality, "grey")
            ax.bar([i + j * width for i in range(len(parts))], [values.get(p, 0.0) for p in parts], width,
                   label=modality, color=colour)
        ax.set_xticks([i + width * (len(modalities) - 1) / 2 for i in range(len(parts))], parts,
                      rotation=30, ha="right", fontsize=8)
        ax.set_title(label, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return fig
