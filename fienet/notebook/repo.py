"""Finding the repository a notebook runs in, and paths relative to its root."""

from __future__ import annotations

from pathlib import Path


def find_repo_root(start: str | Path | None = None) -> Path:
    """The repository root: the nearest folder holding ``pyproject.toml`` and the ``fienet`` package.

    Searches upwards from ``start`` (default: the working directory), then from this package's
    own location, so a notebook finds the root whether it runs from ``notebooks/``, the root or
    elsewhere with an editable install.

    Raises:
        FileNotFoundError: neither place lies inside a fienet checkout.
    """
    starts = [Path(start) if start is not None else Path.cwd(), Path(__file__).resolve().parent]
    for origin in starts:
        for folder in (origin.resolve(), *origin.resolve().parents):
            if (folder / "pyproject.toml").is_file() and (folder / "fienet" / "__init__.py").is_file():
                return folder
    raise FileNotFoundError(
        f"{starts[0]}: no fienet repository above it; expected a folder holding pyproject.toml and "
        "fienet/__init__.py (run the notebooks from a clone of the repository)"
    )


def resolve_path(path: str | Path, repo: Path) -> Path:
    """``path`` as an absolute path; relative paths are taken from the repository root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else repo / path
