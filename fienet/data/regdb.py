"""RegDB reader (Nguyen et al., Sensors 2017): one visible and one thermal camera, ten splits.

Each trial has its own train/test identity split, given as list files ``relpath label`` under
``idx``. Testing uses every test image of one modality as query and every image of the other as
gallery (no random draw), in both directions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fienet.data.io import check_images, read_labelled_list, require_dir
from fienet.data.reader import Reader, Split
from fienet.data.records import Record
from fienet.modalities import INFRARED, VISIBLE, Modality
from fienet.protocols import REGDB, REGDB_TRIALS, Setting, regdb_settings

if TYPE_CHECKING:
    from fienet.config import DataConfig

LAYOUT = (
    "RegDB layout <root>/idx/{train,test}_{visible,thermal}_<trial>.txt (trials 1..10), "
    "lines '<relpath> <label>' with relpath relative to <root>"
)
CAMERA = {VISIBLE: 1, INFRARED: 2}
_FILE_WORD = {VISIBLE: "visible", INFRARED: "thermal"}
DIRECTIONS = {"v2t": (VISIBLE, INFRARED), "t2v": (INFRARED, VISIBLE)}  # (query, gallery) modality


class RegDB(Reader):
    """RegDB at one of its ten standard splits.

    Args:
        root: dataset folder holding ``idx`` and the image folders the lists point into.
        trial: the split (1..10) this reader trains and tests on; a paper trains one model per
            trial and averages the ten results.
    """

    protocol = REGDB
    trials = REGDB_TRIALS

    def __init__(self, root: str | Path, trial: int = 1) -> None:
        if trial not in self.trials:
            raise ValueError(f"RegDB trial {trial}: expected one of 1..10")
        self.root = require_dir(Path(root), LAYOUT)
        self.trial = trial
        self._lists: dict[tuple[str, int, Modality], list[Record]] = {}  # each list file read once

    @classmethod
    def from_config(cls, data: DataConfig) -> RegDB:
        """The reader of ``data.root`` at trial ``data.regdb_trial``."""
        return cls(data.root, data.regdb_trial)

    def settings(self) -> list[Setting]:
        """Both directions of this reader's trial (see :mod:`fienet.protocols`)."""
        return regdb_settings(self.trial)

    def _records(self, split: str, trial: int, modality: Modality) -> list[Record]:
        key = (split, trial, modality)
        if key not in self._lists:
            path = self.root / "idx" / f"{split}_{_FILE_WORD[modality]}_{trial}.txt"
            self._lists[key] = [
                Record(str(self.root / relpath), label, CAMERA[modality], modality)
                for relpath, label in read_labelled_list(path, self.root, LAYOUT)
            ]
        return list(self._lists[key])

    def train_records(self) -> list[Record]:
        """Training images of this trial: visible records first, then thermal."""
        return [*self._records("train", self.trial, VISIBLE), *self._records("train", self.trial, INFRARED)]

    def test_records(self) -> list[Record]:
        """Test images of this trial: visible records first, then thermal (for feature dumps)."""
        return [*self._records("test", self.trial, VISIBLE), *self._records("test", self.trial, INFRARED)]

    def test_split(self, direction: str = "v2t", trial: int | None = None) -> Split:
        """Query and gallery of this reader's trial.

        Args:
            direction: ``"v2t"`` (visible query, thermal gallery) or ``"t2v"``.
            trial: None or this reader's trial (each trial has its own identities: build another
                reader for another trial).

        Returns:
            ``(query, gallery)`` record lists in list-file order.
        """
        if trial is not None and trial != self.trial:
            raise ValueError(f"RegDB trial {trial}: this reader was built for trial {self.trial}; expected that trial")
        if direction not in DIRECTIONS:
            raise ValueError(f"RegDB direction '{direction}': expected 'v2t' or 't2v'")
        query_modality, gallery_modality = DIRECTIONS[direction]
        return self._records("test", self.trial, query_modality), self._records("test", self.trial, gallery_modality)

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
