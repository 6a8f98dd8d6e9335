"""Where the synthetic dataset's files live, and how to read its extras back.

The images follow SYSU-MM01 exactly (``cam1..cam6/<pid:04d>/<nnnn>.jpg`` and
``exp/{train,val,test}_id.txt``), so the SYSU-MM01 reader loads them unchanged. Beside them sit
what only a synthetic dataset can offer: a part mask per image under ``masks/``, the identity
table ``identities.csv``, the resolved generator config ``synth_config.yaml`` (written last: it
marks a complete dataset) and ``synth_files.txt``, the list of every file the generator writes
(written first: it is what ``overwrite`` may remove, and nothing else).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from fienet.data.synthetic.cameras import CAMERAS

MASKS_DIR = "masks"
IDENTITY_TABLE = "identities.csv"
CONFIG_FILE = "synth_config.yaml"
# Every file the generator writes, listed before the first image: the only files overwrite may remove.
FILE_LIST = "synth_files.txt"
FILE_LIST_HEADER = "# fienet synthetic dataset: the files generate_synthetic wrote here (overwrite removes only these)"
SPLIT_FILES: dict[str, str] = {"train": "exp/train_id.txt", "val": "exp/val_id.txt", "test": "exp/test_id.txt"}


def image_relpath(camid: int, pid: int, index: int) -> Path:
    """``cam<c>/<pid:04d>/<index:04d>.jpg``, relative to the dataset root."""
    return Path(f"cam{camid}") / f"{pid:04d}" / f"{index:04d}.jpg"


def mask_relpath(image_rel: Path) -> Path:
    """The part mask of an image, relative to the dataset root."""
    return Path(MASKS_DIR) / image_rel.with_suffix(".png")


def load_part_mask(root: str | Path, image_path: str | Path) -> np.ndarray:
    """Read the part mask of one synthetic image.

    Args:
        root: dataset root written by ``generate_synthetic``.
        image_path: the image, absolute or relative to ``root`` (e.g. ``cam3/0012/0001.jpg``).

    Returns:
        (H, W) uint8 part labels, the image's size (see ``PART_LABELS``).
    """
    root = Path(root)
    cams = {f"cam{c}" for c in CAMERAS}
    path = Path(image_path)
    if not path.parts or path.parts[0] not in cams:
        # an absolute path, or one that includes the root (as the dataset readers return them)
        try:
            path = path.resolve().relative_to(root.resolve())
        except ValueError:
            raise ValueError(f"{image_path}: not inside the dataset root {root}") from None
    if len(path.parts) != 3 or path.parts[0] not in cams:
        raise ValueError(f"{image_path}: expected an image path like cam<1..6>/<pid:04d>/<nnnn>.jpg under {root}")
    mask_path = root / mask_relpath(path)
    if not mask_path.is_file():
        raise FileNotFoundError(
            f"{mask_path}: missing; expected a part mask per image under {root / MASKS_DIR}, written by "
            "generate_synthetic (real SYSU-MM01 data has no masks)"
        )
    with Image.open(mask_path) as im:
        if im.mode != "L":
            raise ValueError(f"{mask_path}: expected a one-channel uint8 PNG of part labels, got mode {im.mode}")
        return np.array(im)


def load_identity_table(root: str | Path) -> pd.DataFrame:
    """Read ``identities.csv``: one row per identity, sorted by pid.

    Columns: ``pid``, ``group`` (look-alike group), ``split`` ("train", "val", "test"), every
    attribute of ``Identity`` (colours by name, hidden thermal values in [0, 1], fine-grained
    styles) and ``distinguishing_parts``, a tuple of part names (empty without look-alikes).
    """
    path = Path(root) / IDENTITY_TABLE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; expected the identity table that generate_synthetic writes at the dataset root"
        )
    table = pd.read_csv(path, keep_default_na=False)
    missing = {"pid", "group", "split", "distinguishing_parts"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; expected a synthetic identity table")
    table["distinguishing_parts"] = [tuple(p for p in s.split(";") if p) for s in table["distinguishing_parts"]]
    return table.sort_values("pid", ignore_index=True)
