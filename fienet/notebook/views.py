"""Looking at a dataset from a notebook: its folder tree and its images as arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from fienet.data.loader import decode_all
from fienet.data.records import Record


def load_images(records: Sequence[Record], height: int, width: int) -> np.ndarray:
    """Decode images at one size, for statistics and figures.

    Args:
        records: N images.
        height, width: size after (antialiased) resizing.

    Returns:
        (N, height, width, 3) uint8 array, row i for ``records[i]``.
    """
    return decode_all(records, height, width).permute(0, 2, 3, 1).numpy()  # (N, 3, H, W) -> (N, H, W, 3)


def folder_tree(root: str | Path, depth: int = 2, max_entries: int = 3, top_entries: int | None = None) -> str:
    """A dataset's folder tree as text, each folder cut to its first entries with a count of the rest.

    Args:
        root: folder to describe.
        depth: levels below ``root`` to list.
        max_entries: entries listed per folder below the top level (sorted by name).
        top_entries: entries listed directly under ``root``; None lists them all, since the top
            level is where dataset layouts differ.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: missing; expected a dataset folder")
    lines = [f"{root}/"]

    def walk(folder: Path, prefix: str, level: int) -> None:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
        shown = max_entries if level > 1 else (len(entries) if top_entries is None else top_entries)
        for entry in entries[:shown]:
            is_dir = entry.is_dir()
            size = f"  ({sum(1 for _ in entry.iterdir())} entries)" if is_dir else ""
            lines.append(f"{prefix}{entry.name}{'/' if is_dir else ''}{size}")
            if is_dir and level < depth:
                walk(entry, prefix + "    ", level + 1)
        if len(entries) > shown:
            lines.append(f"{prefix}... {len(entries) - shown} more")

    walk(root, "    ", 1)
    return "\n".join(lines)
