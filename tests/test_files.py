"""A full disk mid-write: one error naming the file, the previous version intact, no file left over."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from fienet import files
from fienet.checkpoint import load_checkpoint, save_checkpoint
from fienet.config import Config, save_config
from fienet.engine import _write_history
from fienet.files import WriteError, atomic_write, removed_on_failure
from fienet.report import save_tables


class _FullDisk:
    """A file object that takes ``room`` more bytes (or characters), then fails as a full disk does."""

    def __init__(self, fh, room: int) -> None:
        self.fh, self.room = fh, room

    def write(self, data):
        if len(data) > self.room:
            self.fh.write(data[: self.room])  # a real full disk leaves a partial write behind
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.fh.__exit__(*exc)


@pytest.fixture
def full_disk(monkeypatch):
    """Every atomic_write from now on fails after 10 bytes."""
    real = os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: _FullDisk(real(fd, mode), 10))


def _state(value: float) -> dict:
    return {"model": {"w": torch.full((1000,), value)}, "epoch": 1, "config": Config().to_dict(), "num_classes": 2}


WRITERS = {  # what writes the file, given its path
    "checkpoint": (lambda p: save_checkpoint(_state(2.0), p), "last.pt"),
    "config": (lambda p: save_config(Config(), p), "config.yaml"),
    "history": (lambda p: _write_history([{"epoch": e, "loss": 0.5} for e in range(50)], p.parent), "history.csv"),
    "tables": (lambda p: save_tables(pd.DataFrame({"mAP": range(50)}), pd.DataFrame({"mAP": [1.0]}), p.parent, "sysu"),
               "sysu_trials.csv"),
}


@pytest.mark.parametrize("kind", WRITERS)
def test_a_full_disk_names_the_file_and_keeps_the_previous_one(tmp_path, full_disk, kind) -> None:
    write, name = WRITERS[kind]
    target = tmp_path / name
    target.write_bytes(b"the previous version")
    with pytest.raises(WriteError, match=rf"{name}: cannot write \(No space left on device\); the previous file") as info:
        write(target)
    assert "\n" not in str(info.value)
    assert target.read_bytes() == b"the previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left


def test_a_failed_checkpoint_write_keeps_the_loadable_previous_checkpoint(tmp_path, monkeypatch) -> None:
    path = save_checkpoint(_state(1.0), tmp_path / "last.pt")
    real = os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: _FullDisk(real(fd, mode), 5000))
    # torch.save reports the failed write as a RuntimeError raised while handling the OSError
    with pytest.raises(WriteError, match=r"last\.pt: cannot write \(No space left on device\)"):
        save_checkpoint(_state(2.0), path)
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(1000))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_written_files_get_the_permissions_open_would_give(tmp_path) -> None:
    (tmp_path / "plain.yaml").write_text("x")
    save_config(Config(), tmp_path / "c.yaml")
    save_checkpoint(_state(1.0), tmp_path / "last.pt")
    expected = (tmp_path / "plain.yaml").stat().st_mode
    assert (tmp_path / "c.yaml").stat().st_mode == expected == (tmp_path / "last.pt").stat().st_mode


def test_other_errors_pass_through_and_leave_nothing(tmp_path) -> None:
    with pytest.raises(ZeroDivisionError):
        with atomic_write(tmp_path / "x.json", "w") as fh:
            fh.write("partial")
            1 / 0
    assert list(tmp_path.iterdir()) == []


def test_the_folder_cannot_be_created(tmp_path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match=r"file/c\.yaml: cannot write \("):
        save_config(Config(), tmp_path / "file" / "c.yaml")


def test_a_new_file_is_removed_when_its_write_fails(tmp_path, monkeypatch) -> None:
    def fail_midway(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"\xff\xd8 half an image")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Image.Image, "save", fail_midway)
    path = tmp_path / "cam1" / "0001.jpg"
    path.parent.mkdir()
    with pytest.raises(WriteError, match=r"0001\.jpg: cannot write \(No space left on device\); the partial file was removed"):
        with removed_on_failure(path):
            Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    assert list(path.parent.iterdir()) == []


def test_synthetic_images_on_a_full_disk(tmp_path, monkeypatch) -> None:
    from fienet.data.synthetic import generate_synthetic

    real_save, saved = Image.Image.save, []

    def save(self, fp, *args, **kwargs):
        if len(saved) == 5:
            Path(fp).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        saved.append(fp)
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    with pytest.raises(WriteError, match=r"\.(jpg|png): cannot write \(No space left on device\)") as info:
        generate_synthetic(tmp_path / "synth", preset="tiny", seed=0)
    failed = Path(str(info.value).split(": cannot write")[0])
    assert not failed.exists()  # no truncated image left for a reader to trip over
    assert not (tmp_path / "synth" / "synth_config.yaml").exists()  # the dataset is not marked complete
    assert not list((tmp_path / "synth").rglob("*.tmp"))


def test_stale_temporary_files_of_every_run_file_are_recognised(tmp_path) -> None:
    orphans = [tmp_path / f".{name}.k3j_x9q2.tmp" for name in ("last.pt", "config.yaml", "history.csv", "history.json")]
    kept = [tmp_path / ".notes.txt.abc.tmp", tmp_path / "config.yaml"]
    for p in orphans + kept:
        p.write_text("")
    assert sorted(files.remove_stale_temp_files(tmp_path)) == sorted(orphans)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
