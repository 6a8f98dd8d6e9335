"""SYSU-MM01 reader and its test protocol (also reads the synthetic data, which uses its layout).

The protocol is the one the field's evaluation code computes, reproduced pick for pick:

- query: every infrared image (cameras 3 and 6) of the test identities; identities ascending,
  camera 3 before 6, files sorted by name. All-search and indoor-search share this query.
- gallery, single-shot: ``random.seed(trial)``, then one ``random.choice`` over the sorted file
  list of each (identity ascending, camera in 1, 2, 4, 5 order, or 1, 2 indoors) whose folder
  exists.
- gallery, multi-shot: ``numpy.random.RandomState(trial)``, then ``rng.choice(files, 10,
  replace=False)`` per identity and camera in the same order (every file when fewer than 10).
"""

from __future__ import annotations

import random
from functools import cached_property
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from fienet.data.io import check_images, list_image_files, list_pid_folders, read_id_list, require_dir
from fienet.data.reader import Reader, Split
from fienet.data.records import Record
from fienet.modalities import INFRARED, VISIBLE, Modality
from fienet.protocols import GALLERY_TRIALS, MULTI_SHOT, SYSU, Setting, sysu_settings

LAYOUT = (
    "SYSU-MM01 layout <root>/cam1..cam6/<pid:04d>/<image>.jpg with <root>/exp/train_id.txt, "
    "val_id.txt and test_id.txt, each one comma-separated line of ids"
)
VISIBLE_CAMS = (1, 2, 4, 5)
INFRARED_CAMS = (3, 6)
INDOOR_CAMS = (1, 2)

CameraTree = dict[int, dict[int, Path]]  # {camera: {pid: identity folder}}


class FolderListing:
    """The sorted image files of identity folders, each folder listed once per reader.

    The protocol draws its 40 SYSU-MM01 splits from the same folders; listing them again for
    every setting and trial cost a sixth of a full evaluation on a warm disk.

    Args:
        layout: the layout sentence errors quote.
    """

    def __init__(self, layout: str) -> None:
        self.layout = layout
        self._files: dict[Path, list[str]] = {}

    def __call__(self, folder: Path) -> list[str]:
        if folder not in self._files:
            self._files[folder] = list_image_files(folder, self.layout)
        return self._files[folder]


def all_images(
    tree: CameraTree, ids: Iterable[int], cams: Sequence[int], modality: Modality, files: FolderListing
) -> list[Record]:
    """Every image of ``ids`` seen by ``cams``: identities ascending, cameras in the given order, files sorted."""
    records = []
    for pid in sorted(ids):
        for cam in cams:
            folder = tree[cam].get(pid)
            if folder is not None:
                records += [Record(path, pid, cam, modality) for path in files(folder)]
    return records


def single_shot_gallery(
    tree: CameraTree, ids: Iterable[int], cams: Sequence[int], modality: Modality, trial: int, files: FolderListing
) -> list[Record]:
    """One random image per (identity, camera), drawn exactly as ``random.seed(trial)`` + ``random.choice``.

    A private ``random.Random(trial)`` yields the same stream as the seeded module functions
    without touching the caller's global random state.
    """
    rng = random.Random(trial)
    records = []
    for pid in sorted(ids):
        for cam in cams:
            folder = tree[cam].get(pid)
            if folder is not None:
                records.append(Record(rng.choice(files(folder)), pid, cam, modality))
    return records


def multi_shot_gallery(
    tree: CameraTree, ids: Iterable[int], cams: Sequence[int], modality: Modality, trial: int, shots: int,
    files: FolderListing,
) -> list[Record]:
    """``shots`` images per (identity, camera) without replacement, from ``numpy.random.RandomState(trial)``.

    Folders with fewer than ``shots`` images give all of them and draw nothing from the stream.
    Picks keep the order ``rng.choice`` returns them in.
    """
    rng = np.random.RandomState(trial)
    records = []
    for pid in sorted(ids):
        for cam in cams:
            folder = tree[cam].get(pid)
            if folder is None:
                continue
            paths = files(folder)
            if len(paths) >= shots:
                # choice over indices consumes the stream exactly as choice over the file array
                paths = [paths[i] for i in rng.choice(len(paths), shots, replace=False)]
            records += [Record(path, pid, cam, modality) for path in paths]
    return records


def require_present(cameras: Iterable[dict[int, Path]], ids: Iterable[int], list_path: Path, layout: str) -> None:
    """Raise if an identity of ``list_path`` has no folder under any of the ``cameras`` (``{pid: folder}`` each)."""
    cameras = list(cameras)
    missing = [pid for pid in ids if not any(pid in folders for folders in cameras)]
    if missing:
        raise ValueError(
            f"{list_path}: id(s) {sorted(missing)[:10]} have no images in any camera folder; expected {layout}"
        )


class SYSUMM01(Reader):
    """SYSU-MM01 (Wu et al., ICCV 2017): 6 cameras, visible 1, 2, 4, 5 and infrared 3, 6.

    Nothing is read until asked for; then the camera folders are scanned once, and each
    identity folder is listed once.

    Args:
        root: dataset folder holding ``cam1`` .. ``cam6`` and ``exp``.
    """

    protocol = SYSU
    trials = GALLERY_TRIALS

    def __init__(self, root: str | Path) -> None:
        self.root = require_dir(Path(root), LAYOUT)
        self._files = FolderListing(LAYOUT)

    def settings(self, shots: Sequence[int] = (1, MULTI_SHOT)) -> list[Setting]:
        """All- and indoor-search, single- and multi-shot (see :mod:`fienet.protocols`)."""
        return sysu_settings(shots)

    @cached_property
    def _tree(self) -> CameraTree:
        return {cam: list_pid_folders(self.root / f"cam{cam}", LAYOUT) for cam in (*VISIBLE_CAMS, *INFRARED_CAMS)}

    def _ids(self, split: str) -> list[int]:
        path = self.root / "exp" / f"{split}_id.txt"
        ids = read_id_list(path, LAYOUT, allow_empty=split == "val")  # a dataset may hold no validation ids
        require_present(self._tree.values(), ids, path, LAYOUT)
        return ids

    @cached_property
    def train_ids(self) -> tuple[int, ...]:
        """Training identities ascending: ``train_id.txt`` and ``val_id.txt`` together, as the field trains."""
        train, val = self._ids("train"), self._ids("val")
        both = set(train) & set(val)
        if both:
            raise ValueError(f"{self.root / 'exp'}: id(s) {sorted(both)[:10]} in both train_id.txt and val_id.txt")
        return tuple(sorted(train + val))

    @cached_property
    def test_ids(self) -> tuple[int, ...]:
        """Test identities ascending (``test_id.txt``)."""
        test = self._ids("test")
        leaked = set(test) & set(self.train_ids)
        if leaked:
            raise ValueError(f"{self.root / 'exp' / 'test_id.txt'}: id(s) {sorted(leaked)[:10]} are also training ids")
        return tuple(sorted(test))

    def train_records(self) -> list[Record]:
        """Every image of the training identities: visible records first, then infrared."""
        return [
            *all_images(self._tree, self.train_ids, VISIBLE_CAMS, VISIBLE, self._files),
            *all_images(self._tree, self.train_ids, INFRARED_CAMS, INFRARED, self._files),
        ]

    def test_records(self) -> list[Record]:
        """Every image of the test identities: visible records first, then infrared (for feature dumps)."""
        return [
            *all_images(self._tree, self.test_ids, VISIBLE_CAMS, VISIBLE, self._files),
            *all_images(self._tree, self.test_ids, INFRARED_CAMS, INFRARED, self._files),
        ]

    def test_split(self, mode: str = "all", trial: int = 0, shots: int = 1) -> Split:
        """Query (infrared) and gallery (visible) of one evaluation trial.

        Args:
            mode: ``"all"`` (gallery cameras 1, 2, 4, 5) or ``"indoor"`` (cameras 1, 2).
            trial: seed of the gallery draw; the field averages trials 0..9.
            shots: gallery images per identity and camera, 1 (single-shot) or 10 (multi-shot).

        Returns:
            ``(query, gallery)`` record lists.
        """
        if mode not in ("all", "indoor"):
            raise ValueError(f"SYSU-MM01 test mode '{mode}': expected 'all' or 'indoor'")
        if shots not in (1, MULTI_SHOT):
            raise ValueError(f"SYSU-MM01 shots={shots}: expected 1 (single-shot) or {MULTI_SHOT} (multi-shot)")
        cams = VISIBLE_CAMS if mode == "all" else INDOOR_CAMS
        query = all_images(self._tree, self.test_ids, INFRARED_CAMS, INFRARED, self._files)
        if shots == 1:
            gallery = single_shot_gallery(self._tree, self.test_ids, cams, VISIBLE, trial, self._files)
        else:
            gallery = multi_shot_gallery(self._tree, self.test_ids, cams, VISIBLE, trial, shots, self._files)
        return query, gallery

    def validate(self) -> int:
        """Open the header of every training and test image; returns how many were checked."""
        ids = (*self.train_ids, *self.test_ids)
        cams = (*VISIBLE_CAMS, *INFRARED_CAMS)
        paths = [r.path for r in all_images(self._tree, ids, cams, VISIBLE, self._files)]  # modality unused here
        return check_images(paths, LAYOUT)
