"""How sure is an audit's number? Bootstrap intervals over the explained images.

An audit scores a few dozen images, and its summary (:func:`~fienet.explain.audit.audit_summary`)
gives one number per setting and column. Whether 0.78 differs from a bar of 0.7, or one setting
from another, depends on how much those numbers move with the images chosen. The percentile
bootstrap (Efron & Tibshirani, 1993) answers that without assumptions on their distribution:
draw as many images as were explained, with replacement, recompute the summary row exactly as
the summary does (ratios of means, means over non-empty maps, deletion AUCs of the mean curves
of the same drawn images), repeat, and read the central ``level`` of the results.

The intervals say how the number would move with other images of the same kind; they say
nothing about other trainings of the model (docs/results.md measures that separately).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from fienet.explain.audit import Audit, summary_values

# The columns the explanation bars are set on
INTERVAL_COLUMNS: tuple[str, ...] = (
    "person lift",
    "parts lift",
    "Spearman vs occlusion",
    "deletion AUC / random",
)


def audit_intervals(
    audit: Audit,
    columns: Sequence[str] = INTERVAL_COLUMNS,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Percentile bootstrap intervals of summary columns, resampling the explained images.

    Each setting's images are resampled on their own (a setting's row, its deletion curve and
    the random order's curve are drawn together, image by image). A resample whose statistic is
    undefined (e.g. only empty maps drawn) is left out of that column's interval; a column with
    no defined resample, or one the audit did not measure, gets NaN bounds.

    Args:
        audit: what :func:`~fienet.explain.audit.audit_explanations` or
            :func:`~fienet.explain.contrastive.contrastive_audit` returned.
        columns: summary columns to bound (names as in :func:`audit_summary`).
        resamples: bootstrap draws per setting.
        level: central probability of each interval, in (0, 1).
        seed: seed of the draws.

    Returns:
        Index (method, layer), as :func:`audit_summary`'s; for each column, ``"<column>, low"``
        and ``"<column>, high"``.

    Raises:
        ValueError: ``level`` outside (0, 1), fewer than 2 resamples, or an unknown column.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level is {level}; expected a probability strictly between 0 and 1, e.g. 0.95")
    if resamples < 2:
        raise ValueError(f"resamples is {resamples}; expected at least 2 bootstrap draws (1000 is usual)")
    rng = np.random.default_rng(seed)
    tail = 100.0 * (1.0 - level) / 2.0
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for setting, part in audit.per_image.groupby(["method", "layer"], sort=False):
        part = part.reset_index(drop=True)
        n = len(part)
        draws = rng.integers(0, n, size=(resamples, n))  # (R, N) image indices
        # image i of draw r counted as often as it was drawn: (R, N)
        counts = np.zeros((resamples, n))
        np.add.at(counts, (np.arange(resamples)[:, None], draws), 1.0)
        values = summary_values(part, audit.curves, setting, counts)  # column -> (R,)
        unknown = [c for c in columns if c not in values]
        if unknown:
            raise ValueError(f"unknown summary column(s) {unknown}; expected numeric columns of audit_summary "
                             f"(not map or images), e.g. {list(INTERVAL_COLUMNS)}")  # fmt: skip
        row: dict[str, float] = {}
        for column in columns:
            defined = values[column][np.isfinite(values[column])]
            low, high = np.percentile(defined, [tail, 100.0 - tail]) if len(defined) else (np.nan, np.nan)
            row[f"{column}, low"], row[f"{column}, high"] = float(low), float(high)
        rows[setting] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["method", "layer"])
    return table


__all__ = ["INTERVAL_COLUMNS", "audit_intervals"]
