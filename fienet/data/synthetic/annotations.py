"""What only the synthetic data knows, read back through one small object.

Explanations are scored against ground truth that real datasets lack: where each body part is
in every image (the part masks) and which parts tell an identity from its look-alikes (the
identity table). :class:`PartAnnotations` is the public reader of both; code outside the
generator reads annotations through it, never through the generator's modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from fienet.data.synthetic.identities import FINE_ATTRIBUTE_PART, FINE_PARTS
from fienet.data.synthetic.layout import IDENTITY_TABLE, load_identity_table, load_part_mask
from fienet.data.synthetic.parts import PART_LABELS, PART_NAMES


class PartAnnotations:
    """Part masks and look-alike ground truth of a dataset written by ``generate_synthetic``.

    Args:
        root: the dataset root (holds ``identities.csv`` and ``masks/``).

    Attributes:
        part_labels: part name -> mask label (0 background, 1 head .. 7 pattern).
        part_names: mask label -> part name.
        fine_parts: the part names look-alikes can differ in.
    """

    part_labels: dict[str, int] = PART_LABELS
    part_names: tuple[str, ...] = PART_NAMES
    fine_parts: tuple[str, ...] = FINE_PARTS

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        table = load_identity_table(self.root)
        missing = set(FINE_ATTRIBUTE_PART) - set(table.columns)
        if missing:
            raise ValueError(
                f"{self.root / IDENTITY_TABLE}: missing column(s) {sorted(missing)}; expected the fine-grained "
                "attributes of a synthetic identity table"
            )
        self._table = table.set_index("pid")
        unknown = {p for parts in self._table["distinguishing_parts"] for p in parts} - set(PART_LABELS)
        if unknown:
            raise ValueError(
                f"{self.root / IDENTITY_TABLE}: unknown part name(s) {sorted(unknown)}; expected names of "
                f"{tuple(PART_LABELS)}"
            )

    def check_pids(self, pids: Iterable[int]) -> None:
        """Raise ValueError naming the pids that have no row in the identity table."""
        absent = sorted(set(pids) - set(self._table.index))
        if absent:
            raise ValueError(
                f"{self.root / IDENTITY_TABLE}: no row for pid(s) {absent[:10]}; expected records of this "
                "synthetic dataset"
            )

    def _row(self, pid: int):
        self.check_pids([pid])
        return self._table.loc[pid]

    def mask(self, image_path: str | Path, height: int | None = None, width: int | None = None) -> np.ndarray:
        """Part labels of one image, optionally resized (nearest: labels must not blend).

        Args:
            image_path: the image, absolute or relative to the root (as the readers give it).
            height, width: the size to resize to (both or neither), e.g. the network's input.

        Returns:
            (H, W) uint8 part labels.
        """
        mask = load_part_mask(self.root, image_path)  # (H0, W0)
        if height is None and width is None:
            return mask
        if height is None or width is None:
            raise ValueError(f"height={height}, width={width}: give both or neither")
        if mask.shape == (height, width):
            return mask
        return np.asarray(Image.fromarray(mask).resize((width, height), Image.NEAREST))

    def distinguishing_parts(self, pid: int) -> tuple[str, ...]:
        """Parts in which ``pid`` differs from at least one look-alike (empty without look-alikes)."""
        return tuple(self._row(pid)["distinguishing_parts"])

    def lookalikes(self, pid: int) -> tuple[int, ...]:
        """The other identities of ``pid``'s look-alike group, sorted."""
        group = self._row(pid)["group"]
        return tuple(int(p) for p in self._table.index[self._table["group"] == group] if p != pid)

    def differing_parts(self, pid_a: int, pid_b: int) -> tuple[str, ...]:
        """Parts in which two identities' fine-grained attributes differ, in ``fine_parts`` order.

        For two look-alikes this is everything that can tell them apart (they share colours,
        body shape and every other part).
        """
        a, b = self._row(pid_a), self._row(pid_b)
        parts = {part for attr, part in FINE_ATTRIBUTE_PART.items() if a[attr] != b[attr]}
        return tuple(p for p in FINE_PARTS if p in parts)

    def labels(self, parts: Iterable[str]) -> tuple[int, ...]:
        """Mask labels of part names, e.g. ``labels(distinguishing_parts(pid))``."""
        parts = tuple(parts)
        unknown = [p for p in parts if p not in PART_LABELS]
        if unknown:
            raise ValueError(f"unknown part name(s) {unknown}; expected names of {tuple(PART_LABELS)}")
        return tuple(PART_LABELS[p] for p in parts)


__all__ = ["PartAnnotations"]
