"""Data: dataset readers, the modality-balanced sampler, transforms and loaders.

Importing the package loads nothing heavy: each name below is imported from its module on
first use, so ``from fienet.data.records import Record`` does not pull in the readers, the
synthetic generator, pandas or yaml.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "INFRARED": "fienet.modalities",
    "VISIBLE": "fienet.modalities",
    "Record": "fienet.data.records",
    "READERS": "fienet.data.datasets",
    "Reader": "fienet.data.reader",
    "build_dataset": "fienet.data.datasets",
    "dataset_from_config": "fienet.data.datasets",
    "select_train_modalities": "fienet.data.datasets",
    "split_validation": "fienet.data.datasets",
    "LLCM": "fienet.data.llcm",
    "RegDB": "fienet.data.regdb",
    "SYSUMM01": "fienet.data.sysu",
    "TrainBatch": "fienet.data.loader",
    "make_test_loader": "fienet.data.loader",
    "make_train_loader": "fienet.data.loader",
    "set_epoch": "fienet.data.loader",
    "ModalityBalancedSampler": "fienet.data.sampler",
    "generate_synthetic": "fienet.data.synthetic",
    "ChannelAugmentation": "fienet.data.transforms",
    "test_transform": "fienet.data.transforms",
    "train_transform": "fienet.data.transforms",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'fienet.data' has no attribute '{name}'")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
