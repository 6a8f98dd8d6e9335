"""Feature export: every reader's test images, and the .npz that `fienet extract` writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fienet.cli import main
from fienet.checkpoint import load_trained_model
from fienet.config import Config, apply_overrides
from fienet.data import LLCM, SYSUMM01, RegDB
from fienet.data.synthetic import generate_synthetic
from fienet.engine import fit
from fienet.evaluation.features import extract_features
from fienet.modalities import INFRARED, VISIBLE
from fienet.report import extract_to_npz


def test_sysu_test_records_hold_every_test_image(sysu_root) -> None:
    records = SYSUMM01(sysu_root).test_records()
    # conftest: test ids 4, 5, 6 with 16, 15, 13 visible (cams 1, 2, 4, 5) and 3, 3, 3 infrared images.
    assert len(records) == 53
    modalities = [r.modality for r in records]
    assert modalities == [VISIBLE] * 44 + [INFRARED] * 9
    assert [r.pid for r in records[:44]] == [4] * 16 + [5] * 15 + [6] * 13
    assert {r.camid for r in records if r.modality == INFRARED} == {3, 6}
    # Every image any protocol setting draws is among them.
    dataset, paths = SYSUMM01(sysu_root), {r.path for r in records}
    for mode, shots, trial in (("all", 1, 0), ("indoor", 10, 3)):
        query, gallery = dataset.test_split(mode, trial, shots)
        assert {r.path for r in query + gallery} <= paths


def test_regdb_test_records_follow_the_trial(regdb_root) -> None:
    for trial, ids in ((1, {2, 3}), (2, {0, 1})):
        records = RegDB(regdb_root, trial).test_records()
        assert [r.modality for r in records] == [VISIBLE] * 4 + [INFRARED] * 4
        assert {r.pid for r in records} == ids
        query, gallery = RegDB(regdb_root, trial).test_split("v2t")
        assert [r.path for r in records] == [r.path for r in query + gallery]


def test_llcm_test_records_hold_both_modalities(llcm_root) -> None:
    records = LLCM(llcm_root).test_records()
    # conftest: 13 visible and 10 near-infrared images of test ids 7, 8, 9.
    assert [r.modality for r in records] == [VISIBLE] * 13 + [INFRARED] * 10
    assert {r.pid for r in records} == {7, 8, 9}
    assert {r.camid for r in records if r.modality == INFRARED} == {1, 2, 4}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("extract")
    root = generate_synthetic(tmp / "tiny", preset="tiny", seed=0)
    cfg = apply_overrides(Config(), [
        "data.dataset=synthetic", f"data.root={root}", "data.height=32", "data.width=16", "data.p=2",
        "data.k=2", "data.in_memory=true", "data.workers=0", "model.arch=resnet18", "model.weights=null",
        "train.epochs=1", "train.iters_per_epoch=1", "train.progress=false", "train.device=cpu",
        "train.amp=fp32", f"train.out_dir={tmp / 'run'}",
    ])
    fit(cfg)
    return root, tmp / "run" / "best.pt"


def test_npz_rows_are_the_test_images_with_their_features(tiny_checkpoint, tmp_path) -> None:
    root, checkpoint = tiny_checkpoint
    path = extract_to_npz(checkpoint, tmp_path / "out" / "feats.npz", device="cpu")
    data = np.load(path)  # no pickle needed
    records = SYSUMM01(root).test_records()
    feats = data["features"]
    assert feats.dtype == np.float32 and feats.shape == (48, 512)  # 4 test ids x 6 cameras x 2; ResNet-18
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    assert data["pids"].tolist() == [r.pid for r in records]
    assert data["camids"].tolist() == [r.camid for r in records]
    assert data["modalities"].tolist() == [r.modality for r in records]
    # Paths are relative to the dataset folder, stored once, so the features move with the data.
    assert data["root"].item() == str(root.resolve())
    assert [str(root.resolve() / p) for p in data["paths"].tolist()] == [str(Path(r.path).resolve()) for r in records]
    assert not any(Path(p).is_absolute() for p in data["paths"].tolist())
    # Row i is image i's embedding through its own modality's stem.
    model, cfg = load_trained_model(checkpoint)
    for i in (0, 23, 24, 47):  # first and last visible, first and last infrared
        alone = extract_features(model, [records[i]], cfg.data.height, cfg.data.width)
        np.testing.assert_allclose(feats[i], alone[0], rtol=1e-5, atol=1e-6)


def test_worker_processes_give_the_same_features_in_record_order(tiny_checkpoint) -> None:
    root, checkpoint = tiny_checkpoint
    model, cfg = load_trained_model(checkpoint)
    records = SYSUMM01(root).test_records()
    mixed = records[::2][::-1] + records[1::2]  # modalities interleaved, any order
    alone = extract_features(model, mixed, cfg.data.height, cfg.data.width, batch_size=5)
    pooled = extract_features(model, mixed, cfg.data.height, cfg.data.width, batch_size=5, workers=2)
    np.testing.assert_array_equal(alone, pooled)
    by_path = dict(zip((r.path for r in records), extract_features(model, records, cfg.data.height, cfg.data.width)))
    np.testing.assert_allclose(alone, np.stack([by_path[r.path] for r in mixed]), rtol=1e-5, atol=1e-6)


def test_cli_extract_and_its_errors(tiny_checkpoint, tmp_path, capsys) -> None:
    _, checkpoint = tiny_checkpoint
    out = tmp_path / "train.npz"
    assert main(["extract", str(checkpoint), "--out", str(out), "--split", "train", "--device", "cpu"]) == 0
    assert f"features written to {out}" in capsys.readouterr().out
    assert set(np.load(out)["modalities"].tolist()) == {VISIBLE, INFRARED}

    missing = tmp_path / "nothing.pt"
    assert main(["extract", str(missing), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{missing}: checkpoint not found" in err
    with pytest.raises(ValueError, match=r"split 'val': expected 'test' or 'train'"):
        extract_to_npz(checkpoint, out, split="val")


def test_extract_prints_the_real_path_and_writes_into_a_folder(tiny_checkpoint, tmp_path, capsys) -> None:
    _, checkpoint = tiny_checkpoint
    assert main(["extract", str(checkpoint), "--out", str(tmp_path / "feats"), "--device", "cpu"]) == 0
    assert f"features written to {tmp_path / 'feats.npz'}\n" in capsys.readouterr().out
    assert (tmp_path / "feats.npz").is_file() and not (tmp_path / "feats").exists()
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["extract", str(checkpoint), "--out", str(folder), "--device", "cpu"]) == 0
    written = folder / "features_synthetic_test.npz"
    assert f"features written to {written}\n" in capsys.readouterr().out
    assert np.load(written)["features"].shape[0] > 0
