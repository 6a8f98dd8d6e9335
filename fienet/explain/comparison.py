"""Models side by side: the same audit of every model on the same images, as one table.

What notebook 04 shows and ``bench/explain_audit.py`` writes to docs/results.md; both call
these two functions, so the notebook's table and the documented one are computed the same way.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from fienet.explain.audit import Audit, AuditInputs, Setting, audit_explanations, audit_summary
from fienet.explain.contrastive import contrastive_audit
from fienet.explain.methods import check_settings
from fienet.model.fienet import FIENet

# The columns a contrastive audit measures (it has no randomisation or deletion).
CONTRASTIVE_COLUMNS: tuple[str, ...] = ("map", "images", "empty maps (%)", "parts lift", "Spearman vs occlusion")


def audit_models(
    models: Mapping[str, FIENet], inputs: AuditInputs, settings: Sequence[Setting], contrastive: bool = False
) -> dict[str, Audit]:
    """Audit every model on the same images with the same settings.

    Args:
        models: name -> model (e.g. ``{"baseline": ..., "FIENet": ...}``), each on its device.
        inputs: the images and the checks' parameters, shared by all models.
        settings: (method, layer) pairs; a layer a model lacks is skipped for that model.
        contrastive: the contrastive audit (match against look-alike) instead of the plain one.

    Returns:
        name -> :class:`~fienet.explain.audit.Audit`, in the order of ``models``.

    Raises:
        ValueError: a setting one of the models refuses, before any model is audited.
    """
    for model in models.values():  # a setting only a later model refuses fails before the first slow audit
        check_settings(model, settings)
    audit = contrastive_audit if contrastive else audit_explanations
    audits = {}
    for name, model in models.items():
        inputs.say(f"{name}:")
        audits[name] = audit(model, inputs, settings)
    return audits


def audit_table(audits: Mapping[str, Audit], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The summaries of several audits stacked: index (model, method, layer).

    Args:
        audits: name -> audit, from :func:`audit_models`.
        columns: keep only these summary columns (e.g. ``CONTRASTIVE_COLUMNS``); None keeps all.
    """
    table = pd.concat({name: audit_summary(audit) for name, audit in audits.items()}, names=["model"])
    return table if columns is None else table[list(columns)]


__all__ = ["CONTRASTIVE_COLUMNS", "audit_models", "audit_table"]
