"""Writing files so that a failed write (disk full, file too large, no permission) loses nothing.

Every file fienet writes goes through one of two context managers:

- :func:`atomic_write` for a file that may replace an earlier version (checkpoints, configs,
  histories, tables, features): the data goes to a temporary file beside the target, renamed
  over it only once complete, so the previous version stays intact until then;
- :func:`removed_on_failure` for new files written in place (the synthetic images), removed
  again when their write fails, so no truncated file is left.

Either way a failed write leaves no temporary or partial file and raises :class:`WriteError`,
one line naming the file: ``path: cannot write (No space left on device); ...``. A temporary file
that only a killed process can leave is named ``.<name>.<random>.tmp`` and removed by
:func:`remove_stale_temp_files` when the next run (or the next ``fienet synth``) starts in that folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Collection, Iterator

# Temporary names of atomic_write: ".<name>.<random>.tmp" beside the target (tempfile.mkstemp).
_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.[A-Za-z0-9_]+\.tmp")
_RUN_FILE = re.compile(r".+\.(?:pt|yaml|csv|json|npz|md)")  # what a run folder's atomic writes are named


class WriteError(OSError):
    """A file could not be written; its previous version, if any, is intact."""


def write_failure(err: BaseException) -> OSError | None:
    """The ``OSError`` behind ``err``: itself, or one it was raised from or while handling.

    Libraries report a failed write in their own way (``torch.save`` raises a RuntimeError
    while handling the OSError of the file); the OSError says what went wrong.
    """
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def _write_error(path: Path, failure: OSError, kept: str) -> WriteError:
    reason = failure.strerror or " ".join(str(failure).split()) or type(failure).__name__
    return WriteError(
        f"{path}: cannot write ({reason}); {kept}; expected free disk space and write permission in {path.parent}"
    )


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb", durable: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename.

    Args:
        path: the file to (re)place; its folder is created.
        mode: ``"wb"`` or ``"w"``.
        durable: ``fsync`` before the rename, so that the new file survives a power loss
            (checkpoints; costs a disk flush).

    Raises:
        WriteError: the write failed for lack of space, size limit or permission; nothing was
            replaced and no temporary file is left.
    """
    path = Path(path)
    kept = "the previous file there, if any, is kept"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _write_error(path, err, kept) from err
    try:
        with os.fdopen(fd, mode) as fh:
            if hasattr(os, "fchmod"):  # POSIX: mkstemp's 0600 would hide the file from other users
                os.fchmod(fh.fileno(), 0o666 & ~_umask())
            yield fh
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        failure = write_failure(err) if isinstance(err, Exception) else None
        if failure is None or isinstance(failure, WriteError):
            raise
        raise _write_error(path, failure, kept) from err


@contextlib.contextmanager
def removed_on_failure(path: str | Path) -> Iterator[Path]:
    """Guard a new file written in place: if its write fails, the partial file is removed.

    Raises:
        WriteError: the write failed for lack of space, size limit or permission.
    """
    path = Path(path)
    try:
        yield path
    except Exception as err:
        failure = write_failure(err)
        path.unlink(missing_ok=True)
        if failure is None or isinstance(failure, WriteError):
            raise
        raise _write_error(path, failure, "the partial file was removed") from err


def write_text(path: str | Path, text: str) -> Path:
    """``Path(path).write_text(text)`` through :func:`atomic_write`."""
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_csv(path: str | Path, table) -> Path:
    """``table.to_csv(path, index=False)`` (a pandas DataFrame) through :func:`atomic_write`."""
    with atomic_write(path, "w") as fh:
        table.to_csv(fh, index=False)
    return Path(path)


def remove_stale_temp_files(folder: str | Path, targets: Collection[str] | None = None) -> list[Path]:
    """Delete the temporary files that killed :func:`atomic_write` calls left in ``folder``.

    Only names of the form ``.<target>.<random>.tmp`` are touched, and only for the given
    ``targets`` (file names in ``folder``), or without them for a target with an extension a run
    folder holds (``pt``, ``yaml``, ``csv``, ``json``, ``npz``, ``md``). Call it when no other
    process writes into ``folder`` (at the start of a run). A missing folder holds none.

    Returns:
        The files removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        match = _TEMP_NAME.fullmatch(entry.name)
        if match is None or not entry.is_file():
            continue
        target = match["target"]
        if (target in targets) if targets is not None else _RUN_FILE.fullmatch(target) is not None:
            entry.unlink()
            removed.append(entry)
    return removed
