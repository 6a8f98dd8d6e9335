"""The record every reader returns: one image with its identity, camera and modality."""

from __future__ import annotations

from dataclasses import dataclass

from fienet.modalities import Modality


@dataclass(frozen=True)
class Record:
    """One image of a dataset.

    Args:
        path: image file path.
        pid: identity as written by the dataset (not a contiguous training label).
        camid: camera index as the dataset numbers it (SYSU-MM01: 1..6).
        modality: ``"visible"`` or ``"infrared"``.
    """

    path: str
    pid: int
    camid: int
    modality: Modality
