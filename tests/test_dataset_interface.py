"""A fourth dataset is one reader file and one registry line: shown with a tiny reader here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fienet.checkpoint import save_checkpoint
from fienet.config import Config, apply_overrides
from fienet.data import READERS, Reader, Record, dataset_from_config
from fienet.engine import training_records
from fienet.evaluation.runner import evaluate_model
from fienet.model import build_model
from fienet.modalities import INFRARED, MODALITIES, VISIBLE
from fienet.protocols import UNFILTERED, Setting
from fienet.report import evaluate_checkpoint, extract_to_npz


class OwnImages(Reader):
    """A folder of one's own images, ``<root>/<modality>/<pid>/<image>.png``: even ids train, odd ids test."""

    protocol = UNFILTERED  # every test image against every other-modality test image, nothing filtered

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def settings(self) -> list[Setting]:
        return [Setting("infrared-to-visible", {"query": INFRARED}, (0,))]

    def _records(self, keep: int) -> list[Record]:
        return [
            Record(str(path), int(folder.name), 1 if modality == VISIBLE else 2, modality)
            for modality in MODALITIES
            for folder in sorted((self.root / modality).iterdir(), key=lambda f: int(f.name))
            if int(folder.name) % 2 == keep
            for path in sorted(folder.iterdir())
        ]

    def train_records(self) -> list[Record]:
        return self._records(0)

    def test_records(self) -> list[Record]:
        return self._records(1)

    def test_split(self, trial: int = 0, query: str = INFRARED) -> tuple[list[Record], list[Record]]:
        records = self.test_records()
        return [r for r in records if r.modality == query], [r for r in records if r.modality != query]

    def validate(self) -> int:
        return len(self.train_records()) + len(self.test_records())


@pytest.fixture
def own_root(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for modality in MODALITIES:
        for pid in range(6):
            for k in range(2):
                path = tmp_path / "own" / modality / str(pid) / f"{k}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, (32, 16, 3), dtype=np.uint8)).save(path)
    return tmp_path / "own"


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(READERS, "own", OwnImages)  # the one registry line


def test_a_new_reader_trains_evaluates_and_extracts_without_other_edits(
    own_root: Path, registered: None, tmp_path: Path
) -> None:
    cfg = apply_overrides(Config(), [
        "data.dataset=own", f"data.root={own_root}", "data.height=32", "data.width=16",
        "model.arch=resnet18", "model.weights=null", "train.device=cpu",
    ])
    train = training_records(cfg)
    assert {r.pid for r in train} == {0, 2, 4} and {r.modality for r in train} == {VISIBLE, INFRARED}

    reader = dataset_from_config(cfg.data)
    assert isinstance(reader, OwnImages)
    model = build_model(cfg.model, num_classes=3).eval()
    run = evaluate_model(model, reader, 32, 16, "cpu")
    assert list(run.table["setting"]) == ["infrared-to-visible"]
    assert 0.0 <= run.table["mAP"].iloc[0] <= 100.0

    # The command-line paths take it by name, like the built-in datasets.
    checkpoint = save_checkpoint(
        {"model": model.state_dict(), "epoch": 0, "config": cfg.to_dict(), "num_classes": 3}, tmp_path / "own.pt"
    )
    summary = evaluate_checkpoint(checkpoint, out_dir=tmp_path / "eval", device="cpu")
    assert summary["rank1"].iloc[0] == pytest.approx(run.table["rank1"].iloc[0])
    dump = np.load(extract_to_npz(checkpoint, tmp_path / "own.npz", device="cpu"))
    assert sorted(set(dump["pids"].tolist())) == [1, 3, 5]


def test_unknown_dataset_names_the_registry(own_root: Path, registered: None) -> None:
    cfg = apply_overrides(Config(), ["data.dataset=market", f"data.root={own_root}"])
    with pytest.raises(
        ValueError, match="^data.dataset='market': unknown dataset; expected one of synthetic, sysu, regdb, llcm, own$"
    ):
        dataset_from_config(cfg.data)
