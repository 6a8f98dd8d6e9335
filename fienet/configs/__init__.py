"""The configs that ship with the package: ``demo``, ``sysu``, ``regdb`` and ``llcm``.

In a checkout ``configs/`` is a link to this folder, so ``--config configs/sysu.yaml`` reads the
same file from the repository root; after ``pip install .`` (no checkout) the same spellings,
and the bare name (``--config sysu``), find the packaged file from any folder.
"""

from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent


def find_config(path: str | Path) -> Path:
    """The config file ``path`` names.

    ``path`` itself when it is a file; else, for ``configs/NAME.yaml``, ``NAME.yaml`` or ``NAME``,
    the packaged config of that name; else ``path`` unchanged, for the caller's not-found error.
    """
    path = Path(path)
    if path.is_file():
        return path
    name = path.name if path.suffix else f"{path.name}.yaml"
    if path.parent in (Path("."), Path("configs")) and (PACKAGED / name).is_file():
        return PACKAGED / name
    return path
