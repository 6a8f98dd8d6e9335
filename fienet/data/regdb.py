"""RegDB reader (Nguyen et al., Sensors 2017): one visible and one thermal camera, ten splits.

Each trial has its own train/test identity split, given as list files ``relpath label`` under
``idx``. Testing uses every test image of one modality as query and every image of the other as
gallery (no random draw), in both directions.
"""

from __future__ import annotations

from pathlib import Path

from fienet.data.io import check_images, read_labelled_list, require_dir
from fienet.data.records import Record
from fienet.modalities import INFRARED, VISIBLE, Modality

LAYOUT = (
    "RegDB layout <root>/idx/{train,test}_{visible,thermal}_<trial>.txt (trials 1..10), "
    "lines '<relpath> <label>' with relpath relative to <root>"
)
CAMERA = {VISIBLE: 1, INFRARED: 2}
_FILE_WORD = {VISIBLE: "visible", INFRARED: "thermal"}
DIRECTIONS = {"v2t": (VISIBLE, INFRARED), "t2v": (INFRARED, VISIBLE)}  # (query, gallery) modality


class RegDB:
    """RegDB with the ten standard splits.

    Args:
        root: dataset folder holding ``idx`` and the image folders the lists point into.
    """

    name = "regdb"
    trials = tuple(range(1, 11))

    def __init__(self, root: str | Path) -> None:
        self.root = require_dir(Path(root), LAYOUT)

    def _records(self, split: str, trial: int, modality: Modality) -> list[Record]:
        if trial not in self.trials:
            raise ValueError(f"RegDB trial {trial}: expected one of 1..10")
        path = self.root / "idx" / f"{split}_{_FILE_WORD[modality]}_{trial}.txt"
        return [
            Record(str(self.root / relpath), label, CAMERA[modality], modality)
            for relpath, label in read_labelled_list(path, self.root, LAYOUT)
        ]

    def train_records(self, trial: int = 1) -> list[Record]:
        """Training images of ``trial``: visible records first, then thermal."""
        return [*self._records("train", trial, VISIBLE), *self._records("train", trial, INFRARED)]

    def test_records(self, trial: int = 1) -> list[Record]:
        """Test images of ``trial``: visible records first, then thermal (for feature dumps)."""
        return [*self._records("test", trial, VISIBLE), *self._records("test", trial, INFRARED)]

    def test_split(self, trial: int = 1, direction: str = "v2t") -> tuple[list[Record], list[Record]]:
        """Query and gallery of ``trial``.

        Args:
            trial: split 1..10.
            direction: ``"v2t"`` (visible query, thermal gallery) or ``"t2v"``.

        Returns:
            ``(query, gallery)`` record lists in list-file order.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"RegDB direction '{direction}': expected 'v2t' or 't2v'")
        query_modality, gallery_modality = DIRECTIONS[direction]
        return self._records("test", trial, query_modality), self._records("test", trial, gallery_modality)

    def validate(self) -> int:
        """Open the header of every image any trial lists; returns how many were checked."""
        paths = {
            r.path
            for trial in self.trials
            for split in ("train", "test")
            for modality in (VISIBLE, INFRARED)
            for r in self._records(split, trial, modality)
        }
        return check_images(sorted(paths), LAYOUT)
