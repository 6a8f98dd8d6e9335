"""LLCM reader (Zhang & Wang, CVPR 2023): low-light visible and near-infrared cameras.

Training images come from list files ``relpath label``; test images from camera folders
``test_vis/cam<k>/<pid>/`` and ``test_nir/cam<k>/<pid>/``. The test protocol is SYSU-MM01's
single-shot one: every image of the query modality, and one random gallery image per identity and
camera drawn with ``random.seed(trial)`` + ``random.choice`` (identities and cameras ascending).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from fienet.data.io import (
    camera_from_path,
    check_images,
    list_camera_folders,
    list_pid_folders,
    read_id_list,
    read_labelled_list,
    require_dir,
)
from fienet.data.reader import Reader, Split
from fienet.data.records import Record
from fienet.data.sysu import CameraTree, FolderListing, all_images, require_present, single_shot_gallery
from fienet.modalities import INFRARED, VISIBLE, Modality
from fienet.protocols import GALLERY_TRIALS, LLCM as LLCM_PROTOCOL, Setting, llcm_settings

LAYOUT = (
    "LLCM layout <root>/idx/train_vis.txt and train_nir.txt (lines '<relpath> <label>'), "
    "<root>/idx/test_id.txt (one comma-separated line of ids) and "
    "<root>/test_vis|test_nir/cam<k>/<pid:04d>/<image>"
)
_TEST_FOLDER = {VISIBLE: "test_vis", INFRARED: "test_nir"}
_TRAIN_LIST = {VISIBLE: "train_vis.txt", INFRARED: "train_nir.txt"}
DIRECTIONS = {"i2v": (INFRARED, VISIBLE), "v2i": (VISIBLE, INFRARED)}  # (query, gallery) modality


class LLCM(Reader):
    """LLCM with its test identities and ten gallery trials.

    Args:
        root: dataset folder holding ``idx``, ``test_vis`` and ``test_nir``.
    """

    protocol = LLCM_PROTOCOL
    trials = GALLERY_TRIALS

    def __init__(self, root: str | Path) -> None:
        self.root = require_dir(Path(root), LAYOUT)
        self._files = FolderListing(LAYOUT)

    def settings(self) -> list[Setting]:
        """Both directions, trials 0..9 (see :mod:`fienet.protocols`)."""
        return llcm_settings()

    @cached_property
    def _trees(self) -> dict[Modality, CameraTree]:
        trees = {}
        for modality, folder in _TEST_FOLDER.items():
            cams = list_camera_folders(self.root / folder, LAYOUT)
            trees[modality] = {cam: list_pid_folders(path, LAYOUT) for cam, path in cams.items()}
        return trees

    @cached_property
    def test_ids(self) -> tuple[int, ...]:
        """Test identities ascending (``idx/test_id.txt``)."""
        path = self.root / "idx" / "test_id.txt"
        ids = read_id_list(path, LAYOUT)
        # Present in either modality counts: only an identity with no test image at all is wrong.
        cameras = [folders for tree in self._trees.values() for folders in tree.values()]
        require_present(cameras, ids, path, LAYOUT)
        return tuple(sorted(ids))

    def train_records(self) -> list[Record]:
        """Training images from the list files: visible first, then near-infrared.

        The camera is read from a ``cam<k>`` part of the listed path (0 when it has none).
        """
        records = []
        for modality, name in _TRAIN_LIST.items():
            pairs = read_labelled_list(self.root / "idx" / name, self.root, LAYOUT)
            records += [
                Record(str(self.root / relpath), label, camera_from_path(relpath), modality) for relpath, label in pairs
            ]
        return records

    def test_records(self) -> list[Record]:
        """Every image of the test identities: visible records first, then near-infrared (for feature dumps)."""
        trees = self._trees
        return [
            *all_images(trees[VISIBLE], self.test_ids, sorted(trees[VISIBLE]), VISIBLE, self._files),
            *all_images(trees[INFRARED], self.test_ids, sorted(trees[INFRARED]), INFRARED, self._files),
        ]

    def test_split(self, trial: int = 0, direction: str = "i2v") -> Split:
        """Query and gallery of one evaluation trial.

        Args:
            trial: seed of the gallery draw; the field averages trials 0..9.
            direction: ``"i2v"`` (near-infrared query, visible gallery) or ``"v2i"``.

        Returns:
            ``(query, gallery)`` record lists.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"LLCM direction '{direction}': expected 'i2v' or 'v2i'")
        query_modality, gallery_modality = DIRECTIONS[direction]
        query_tree, gallery_tree = self._trees[query_modality], self._trees[gallery_modality]
        query = all_images(query_tree, self.test_ids, sorted(query_tree), query_modality, self._files)
        gallery = single_shot_gallery(
            gallery_tree, self.test_ids, sorted(gallery_tree), gallery_modality, trial, self._files
        )
        return query, gallery

    def validate(self) -> int:
        """Open the header of every training and test image; returns how many were checked."""
        paths = [r.path for r in self.train_records()]
        for modality, tree in self._trees.items():
            paths += [r.path for r in all_images(tree, self.test_ids, sorted(tree), modality, self._files)]
        return check_images(paths, LAYOUT)
