"""The registry of dataset readers, and carving a validation split out of the training identities.

A dataset name (``data.dataset`` in a config) maps to its :class:`~fienet.data.reader.Reader`
here and nowhere else: adding a dataset is a new reader file and one line in ``READERS``.
Model selection must never look at the test set, so the validation identities come from the
training identities and are removed from training.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from fienet.data.llcm import LLCM
from fienet.data.reader import Reader
from fienet.data.records import Record
from fienet.data.regdb import RegDB
from fienet.data.sysu import SYSUMM01
from fienet.modalities import INFRARED, VISIBLE

TRAIN_MODALITIES = ("both", "visible")
if TYPE_CHECKING:
    from fienet.config import DataConfig

# name -> reader; "synthetic" is the generated data, written in the SYSU-MM01 layout.
READERS: dict[str, type[Reader]] = {"synthetic": SYSUMM01, "sysu": SYSUMM01, "regdb": RegDB, "llcm": LLCM}


def reader_class(name: str) -> type[Reader]:
    """The reader registered as ``name``."""
    if name not in READERS:
        raise ValueError(f"unknown dataset '{name}': expected one of {', '.join(READERS)}")
    return READERS[name]


def build_dataset(name: str, root: str | Path) -> Reader:
    """The reader for dataset ``name`` on ``root`` with its defaults (RegDB: trial 1).

    Args:
        name: a key of ``READERS``: ``"synthetic"``, ``"sysu"``, ``"regdb"``, ``"llcm"``.
        root: dataset folder.
    """
    return reader_class(name)(root)  # type: ignore[call-arg]


def dataset_from_config(data: DataConfig) -> Reader:
    """The reader a config's ``data`` section describes (dataset, root and, for RegDB, the trial)."""
    if data.dataset not in READERS:
        raise ValueError(f"data.dataset={data.dataset!r}: unknown dataset; expected one of {', '.join(READERS)}")
    return reader_class(data.dataset).from_config(data)


def split_validation(records: Sequence[Record], num_val_ids: int, seed: int) -> tuple[list[Record], list[Record]]:
    """Hold out ``num_val_ids`` training identities, with all their images, for model selection.

    Only identities seen in both modalities are eligible, since validation retrieves across
    modalities. The draw depends on ``seed`` and the set of identities only.

    Args:
        records: training records.
        num_val_ids: identities to hold out (0 returns every record for training).
        seed: seed of the identity draw.

    Returns:
        ``(train_records, val_records)``, each in the order of ``records``.
    """
    if num_val_ids == 0:
        return list(records), []
    if num_val_ids < 0:
        raise ValueError(f"num_val_ids={num_val_ids}: expected 0 or a positive number of identities")
    modalities: dict[int, set[str]] = {}
    for r in records:
        modalities.setdefault(r.pid, set()).add(r.modality)
    eligible = sorted(pid for pid, seen in modalities.items() if seen == {VISIBLE, INFRARED})
    if num_val_ids >= len(eligible):
        raise ValueError(
            f"num_val_ids={num_val_ids}: only {len(eligible)} training identities have both visible and "
            f"infrared images; expected fewer validation identities so that some remain for training"
        )
    val_ids = set(np.random.default_rng(seed).choice(eligible, num_val_ids, replace=False).tolist())
    train = [r for r in records if r.pid not in val_ids]
    val = [r for r in records if r.pid in val_ids]
    return train, val


def select_train_modalities(records: Sequence[Record], train_modalities: str) -> list[Record]:
    """The training records of a two-stream (``"both"``) or a visible-only (``"visible"``) model.

    A visible-only model is the same two-stream network trained without a single infrared
    image: each identity's visible images also stand in for its infrared half of every batch
    (labelled infrared, so they pass the infrared stem and skip channel augmentation, as real
    infrared images do). The batch layout, the losses and the network are unchanged, so the
    only difference to the two-stream model is the infrared pixels it never sees; evaluated
    infrared-to-visible, it measures how much of the task is the modality gap.

    Args:
        records: training records of both modalities.
        train_modalities: ``"both"`` or ``"visible"``.

    Returns:
        ``records`` unchanged for ``"both"``; for ``"visible"`` the visible records followed by
        their infrared-labelled stand-ins (same paths).
    """
    if train_modalities not in TRAIN_MODALITIES:
        raise ValueError(
            f"data.train_modalities={train_modalities!r}: expected one of {TRAIN_MODALITIES}"
        )
    if train_modalities == "both":
        return list(records)
    visible = [r for r in records if r.modality == VISIBLE]
    return visible + [dataclasses.replace(r, modality=INFRARED) for r in visible]
