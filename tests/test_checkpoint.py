"""Checkpoints are written atomically and read back only as tensors and plain values."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from fienet.checkpoint import CheckpointError, load_checkpoint, load_weights, save_checkpoint
from fienet.files import remove_stale_temp_files
from fienet.runtime import rng_state, set_rng_state


def _state() -> dict:
    return {"model": {"w": torch.arange(6.0).view(2, 3)}, "epoch": 3, "config": {"train": {"lr": 0.1}}}


def test_round_trip(tmp_path) -> None:
    path = save_checkpoint(_state(), tmp_path / "last.pt")
    state = load_checkpoint(path)
    assert state["epoch"] == 3
    assert torch.equal(state["model"]["w"], torch.arange(6.0).view(2, 3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary file left behind


class Payload:
    def __reduce__(self):
        return (os.system, ("echo should-never-run",))


def test_arbitrary_pickled_object_is_refused(tmp_path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({**_state(), "extra": Payload()}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused to load"):
        load_checkpoint(path)


def test_truncated_checkpoint_gives_clear_error(tmp_path) -> None:
    path = save_checkpoint(_state(), tmp_path / "last.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"last\.pt: cannot read checkpoint \(truncated or corrupt"):
        load_checkpoint(path)


def test_missing_and_foreign_files(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a fienet checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch) -> None:
    path = save_checkpoint(_state(), tmp_path / "last.pt")
    good = path.read_bytes()

    def crash(obj, fh):
        fh.write(b"half a checkpoint")
        raise KeyboardInterrupt  # e.g. the job is killed mid-write

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({**_state(), "epoch": 4}, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_rng_state_survives_weights_only_round_trip(tmp_path) -> None:
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    state = rng_state()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    save_checkpoint({**_state(), "rng": state}, tmp_path / "rng.pt")
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2]


def test_non_finite_weights_are_neither_written_nor_read(tmp_path) -> None:
    bad = {**_state(), "model": {"w": torch.tensor([1.0, float("nan")]), "n": torch.tensor(3)}}
    with pytest.raises(CheckpointError, match=r"last\.pt: not written: 1 weight tensor\(s\) hold NaN or infinity"):
        save_checkpoint(bad, tmp_path / "last.pt")
    assert not list(tmp_path.iterdir())
    torch.save(bad, tmp_path / "nan.pt")  # written by something else: refused on reading
    with pytest.raises(CheckpointError, match=r"nan\.pt: 1 weight tensor\(s\) hold NaN or infinity \(first: w\)"):
        load_checkpoint(tmp_path / "nan.pt")


def test_only_the_writers_own_temporary_files_are_removed(tmp_path) -> None:
    orphans = [tmp_path / ".last.pt.a1b2c3.tmp", tmp_path / ".best.pt.zz_9.tmp"]
    kept = [tmp_path / "last.pt.tmp", tmp_path / ".notes.txt.abc.tmp", tmp_path / "data.tmp"]
    for path in orphans + kept:
        path.write_bytes(b"x")
    assert sorted(remove_stale_temp_files(tmp_path)) == sorted(orphans)
    assert sorted(p for p in tmp_path.iterdir()) == sorted(kept)


def test_weights_that_do_not_fit_give_one_short_line(tmp_path) -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    weights = {k: v for k, v in model.state_dict().items() if not k.startswith("1.")}
    with pytest.raises(CheckpointError) as info:
        load_weights(model, {**weights, "extra.weight": torch.zeros(1)}, tmp_path / "best.pt")
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    assert "best.pt: weights do not fit" in message and "5 missing, 1 unexpected" in message
