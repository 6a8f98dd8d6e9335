"""Dataset readers on tiny trees in each real layout: records, test protocols, and bad input."""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from fienet.data import LLCM, SYSUMM01, RegDB, Record, build_dataset, split_validation
from fienet.data.io import load_image, read_id_list, read_labelled_list
from fienet.modalities import INFRARED, VISIBLE


# Plain re-statements of the field's protocol code (os.listdir + the global random module), the
# reference every reader is checked against.
def reference_query(root: Path, id_file: str, cams: list[str]) -> list[str]:
    ids = ["%04d" % int(x) for x in (root / id_file).read_text().splitlines()[0].split(",")]
    files = []
    for pid in sorted(ids):
        for cam in cams:
            img_dir = os.path.join(root, cam, pid)
            if os.path.isdir(img_dir):
                files.extend(sorted(img_dir + "/" + name for name in os.listdir(img_dir)))
    return files


def reference_single_shot(root: Path, id_file: str, cams: list[str], trial: int) -> list[str]:
    random.seed(trial)
    ids = ["%04d" % int(x) for x in (root / id_file).read_text().splitlines()[0].split(",")]
    files = []
    for pid in sorted(ids):
        for cam in cams:
            img_dir = os.path.join(root, cam, pid)
            if os.path.isdir(img_dir):
                files.append(random.choice(sorted(img_dir + "/" + name for name in os.listdir(img_dir))))
    return files


def reference_multi_shot(root: Path, cams: list[str], trial: int) -> list[str]:
    rng = np.random.RandomState(trial)
    ids = ["%04d" % int(x) for x in (root / "exp/test_id.txt").read_text().splitlines()[0].split(",")]
    files = []
    for pid in sorted(ids):
        for cam in cams:
            img_dir = os.path.join(root, cam, pid)
            if os.path.isdir(img_dir):
                new = sorted(img_dir + "/" + name for name in os.listdir(img_dir))
                files.extend(rng.choice(np.array(new), 10, replace=False).tolist() if len(new) >= 10 else new)
    return files


SYSU_ALL = ["cam1", "cam2", "cam4", "cam5"]


def _re(path: Path) -> str:
    """A path as a literal inside a ``pytest.raises(match=...)`` pattern."""
    return re.escape(str(path))


# ---------------------------------------------------------------- SYSU-MM01


def test_sysu_ids_and_train_records(sysu_root: Path) -> None:
    ds = SYSUMM01(sysu_root)
    assert ds.train_ids == (1, 2, 3)  # train_id.txt (2, 1) plus val_id.txt (3), ascending
    assert ds.test_ids == (4, 5, 6)
    records = ds.train_records()
    assert all(isinstance(r, Record) for r in records)
    n_vis = sum(r.modality == VISIBLE for r in records)
    assert [r.modality for r in records] == [VISIBLE] * n_vis + [INFRARED] * (len(records) - n_vis)
    assert n_vis == 2 + 1 + 1 + 1 + 1 + 2 + 3 + 1  # ids 1-3 on cameras 1, 2, 4, 5
    assert len(records) - n_vis == 2 + 1 + 1 + 2  # ids 1-3 on cameras 3, 6
    assert {r.camid for r in records if r.modality == VISIBLE} == {1, 2, 4, 5}
    assert {r.camid for r in records if r.modality == INFRARED} == {3, 6}
    for r in records:  # pid and camid agree with the folder the file sits in
        assert Path(r.path).parent == sysu_root / f"cam{r.camid}" / f"{r.pid:04d}"
    assert [(r.pid, r.camid) for r in records[:4]] == [(1, 1), (1, 1), (1, 2), (1, 4)]


def test_sysu_query_is_every_infrared_test_image_in_protocol_order(sysu_root: Path) -> None:
    for mode in ("all", "indoor"):
        query, _ = SYSUMM01(sysu_root).test_split(mode=mode, trial=0)
        assert [r.path for r in query] == reference_query(sysu_root, "exp/test_id.txt", ["cam3", "cam6"])
        assert all(r.modality == INFRARED and r.camid in (3, 6) and r.pid in (4, 5, 6) for r in query)
        assert len(query) == 2 + 1 + 1 + 2 + 3


@pytest.mark.parametrize("mode,cams", [("all", SYSU_ALL), ("indoor", ["cam1", "cam2"])])
def test_sysu_single_shot_matches_seeded_random_choice(sysu_root: Path, mode: str, cams: list[str]) -> None:
    ds = SYSUMM01(sysu_root)
    for trial in range(4):
        _, gallery = ds.test_split(mode=mode, trial=trial, shots=1)
        assert [r.path for r in gallery] == reference_single_shot(sysu_root, "exp/test_id.txt", cams, trial)
        pairs = [(r.pid, r.camid) for r in gallery]
        assert len(set(pairs)) == len(pairs)  # exactly one image per (identity, camera)
        present = {(pid, int(c[3:])) for pid in (4, 5, 6) for c in cams if (sysu_root / c / f"{pid:04d}").is_dir()}
        assert set(pairs) == present
        assert all(r.modality == VISIBLE for r in gallery)
    if mode == "indoor":
        assert {r.camid for r in gallery} == {1, 2}


def test_sysu_gallery_is_fixed_per_trial_and_varies_across_trials(sysu_root: Path) -> None:
    ds = SYSUMM01(sysu_root)
    state = random.getstate()
    first = [r.path for r in ds.test_split(trial=3)[1]]
    assert [r.path for r in SYSUMM01(sysu_root).test_split(trial=3)[1]] == first
    assert random.getstate() == state  # the draw leaves the caller's random module alone
    galleries = {tuple(r.path for r in ds.test_split(trial=t)[1]) for t in ds.trials}
    assert len(galleries) == 10
    multi = {tuple(r.path for r in ds.test_split(trial=t, shots=10)[1]) for t in (0, 1)}
    assert len(multi) == 2


@pytest.mark.parametrize("mode,cams", [("all", SYSU_ALL), ("indoor", ["cam1", "cam2"])])
def test_sysu_multi_shot_gallery(sysu_root: Path, mode: str, cams: list[str]) -> None:
    for trial in (0, 7):
        _, gallery = SYSUMM01(sysu_root).test_split(mode=mode, trial=trial, shots=10)
        assert [r.path for r in gallery] == reference_multi_shot(sysu_root, cams, trial)
        per_folder = Counter((r.pid, r.camid) for r in gallery)
        for (pid, cam), n in per_folder.items():
            assert n == min(10, len(os.listdir(sysu_root / f"cam{cam}" / f"{pid:04d}")))
        assert len({r.path for r in gallery}) == len(gallery)  # without replacement
    assert per_folder[(4, 1)] == 10 and per_folder[(4, 2)] == 3


def test_sysu_rejects_bad_arguments(sysu_root: Path) -> None:
    ds = SYSUMM01(sysu_root)
    with pytest.raises(ValueError, match="'outdoor': expected 'all' or 'indoor'"):
        ds.test_split(mode="outdoor")
    with pytest.raises(ValueError, match="shots=5"):
        ds.test_split(shots=5)


def test_sysu_missing_root_and_list_file(sysu_root: Path) -> None:
    with pytest.raises(
        FileNotFoundError,
        match=f"{_re(sysu_root / 'nowhere')}: folder missing; expected SYSU-MM01 layout",
    ):
        SYSUMM01(sysu_root / "nowhere")
    (sysu_root / "exp" / "test_id.txt").unlink()
    with pytest.raises(
        FileNotFoundError,
        match=f"{_re(sysu_root / 'exp' / 'test_id.txt')}: missing; .*comma-separated",
    ):
        SYSUMM01(sysu_root).test_split()


def test_sysu_missing_camera_folder(sysu_root: Path) -> None:
    for path in (sysu_root / "cam5").rglob("*.jpg"):
        path.unlink()
    for path in sorted((sysu_root / "cam5").iterdir()):
        path.rmdir()
    (sysu_root / "cam5").rmdir()
    with pytest.raises(FileNotFoundError, match=f"{_re(sysu_root / 'cam5')}: folder missing"):
        SYSUMM01(sysu_root).train_records()


def test_sysu_bad_layout_errors_name_the_path(sysu_root: Path, write_image) -> None:
    (sysu_root / "cam2" / "extra").mkdir()
    with pytest.raises(
        ValueError,
        match=f"{_re(sysu_root / 'cam2' / 'extra')}: unexpected folder, not an identity folder",
    ):
        SYSUMM01(sysu_root).train_records()
    (sysu_root / "cam2" / "extra").rmdir()
    (sysu_root / "cam4" / "0005" / "notes.txt").write_text("x")
    with pytest.raises(
        ValueError,
        match=f"{_re(sysu_root / 'cam4' / '0005' / 'notes.txt')}: not an image file",
    ):
        SYSUMM01(sysu_root).test_split(shots=10)
    (sysu_root / "cam4" / "0005" / "notes.txt").unlink()
    (sysu_root / "cam1" / "0002" / "0001.jpg").unlink()
    with pytest.raises(ValueError, match=f"{_re(sysu_root / 'cam1' / '0002')}: empty identity folder"):
        SYSUMM01(sysu_root).train_records()


def test_sysu_bad_id_lists(sysu_root: Path) -> None:
    test_ids = sysu_root / "exp" / "test_id.txt"
    test_ids.write_text("4,5,6,99\n")
    with pytest.raises(
        ValueError,
        match=rf"{_re(test_ids)}: id\(s\) \[99\] have no images in any camera folder",
    ):
        SYSUMM01(sysu_root).test_split()
    test_ids.write_text("4,five\n")
    with pytest.raises(ValueError, match=f"{_re(test_ids)}: '4,five' is not a list of integers"):
        SYSUMM01(sysu_root).test_ids
    test_ids.write_text("4,5,1\n")
    with pytest.raises(ValueError, match=rf"{_re(test_ids)}: id\(s\) \[1\] are also training ids"):
        SYSUMM01(sysu_root).test_ids


def test_sysu_validate_finds_corrupt_image(sysu_root: Path) -> None:
    assert SYSUMM01(sysu_root).validate() == sum(1 for _ in sysu_root.rglob("*.jpg"))
    bad = sysu_root / "cam6" / "0005" / "0002.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(
        ValueError,
        match=f"1 of .* images failed the check .*\n  {_re(bad)}: cannot decode image",
    ):
        SYSUMM01(sysu_root).validate()


# ---------------------------------------------------------------- image loading and list files


def test_load_image_values_and_errors(tmp_path: Path, write_image) -> None:
    image = load_image(write_image(tmp_path / "a.png", (200, 100, 50), size=(4, 6)))
    assert image.dtype == torch.uint8 and image.shape == (3, 6, 4)
    assert image[:, 0, 0].tolist() == [200, 100, 50] and bool((image == image[:, :1, :1]).all())
    gray = load_image(write_image(tmp_path / "t.bmp", (90, 0, 0), gray=True))
    assert gray.shape == (3, 8, 4) and bool((gray == 90).all())  # thermal gray replicated to RGB
    with pytest.raises(FileNotFoundError, match=f"{_re(tmp_path / 'missing.jpg')}: image file missing"):
        load_image(tmp_path / "missing.jpg")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ValueError, match=f"{_re(corrupt)}: cannot decode image .*expected a readable JPEG"):
        load_image(corrupt)
    truncated = tmp_path / "truncated.jpg"
    write_image(tmp_path / "big.jpg", size=(64, 64))
    truncated.write_bytes((tmp_path / "big.jpg").read_bytes()[:200])
    with pytest.raises(ValueError, match=f"{_re(truncated)}: cannot decode image"):
        load_image(truncated)


def test_list_file_parsing(tmp_path: Path, write_image) -> None:
    write_image(tmp_path / "x" / "a b.jpg")
    listing = tmp_path / "list.txt"
    listing.write_text("x/a b.jpg 3\n\n")
    assert read_labelled_list(listing, tmp_path, "L") == [("x/a b.jpg", 3)]  # spaces in paths survive
    ids = tmp_path / "ids.txt"
    ids.write_text("3, 1,2\n")
    assert read_id_list(ids, "L") == [3, 1, 2]
    ids.write_text("3,1,3\n")
    with pytest.raises(ValueError, match=rf"{_re(ids)}: id\(s\) \[3\] listed more than once"):
        read_id_list(ids, "L")
    ids.write_text("1,2\n3\n")
    with pytest.raises(ValueError, match=f"{_re(ids)}: found 2 non-empty lines"):
        read_id_list(ids, "L")


# ---------------------------------------------------------------- RegDB


def test_regdb_records_and_splits(regdb_root: Path) -> None:
    ds = RegDB(regdb_root, trial=1)
    train = ds.train_records()
    assert [(r.pid, r.camid, r.modality) for r in train] == (
        [(p, 1, VISIBLE) for p in (0, 0, 1, 1)] + [(p, 2, INFRARED) for p in (0, 0, 1, 1)]
    )
    assert train[0].path == str(regdb_root / "Visible" / "0" / "visible_0.bmp")
    assert {r.pid for r in RegDB(regdb_root, trial=2).train_records()} == {2, 3}
    query, gallery = ds.test_split(direction="v2t")
    assert {r.modality for r in query} == {VISIBLE} and {r.modality for r in gallery} == {INFRARED}
    assert [r.pid for r in query] == [2, 2, 3, 3] and len(gallery) == 4
    t2v = ds.test_split(direction="t2v")
    assert t2v == (gallery, query)
    assert ds.test_split() == ds.test_split()


def test_regdb_errors(regdb_root: Path) -> None:
    ds = RegDB(regdb_root, trial=1)
    with pytest.raises(ValueError, match="direction 'x2y'"):
        ds.test_split(direction="x2y")
    with pytest.raises(ValueError, match="trial 11"):
        RegDB(regdb_root, trial=11)
    with pytest.raises(
        FileNotFoundError,
        match=f"{_re(regdb_root / 'idx' / 'train_visible_3.txt')}: missing; expected RegDB",
    ):
        RegDB(regdb_root, trial=3).train_records()
    listing = regdb_root / "idx" / "test_thermal_2.txt"
    listing.write_text("Thermal/0/thermal_0.bmp 0\nThermal/0/thermal_1.bmp\n")
    with pytest.raises(
        ValueError,
        match=f"{_re(listing)}, line 2: 'Thermal/0/thermal_1.bmp' has no integer label",
    ):
        RegDB(regdb_root, trial=2).test_split()
    listing.write_text("Thermal/0/gone.bmp 0\n")
    with pytest.raises(
        FileNotFoundError,
        match=f"line 1: listed image {_re(regdb_root / 'Thermal/0/gone.bmp')} does not",
    ):
        RegDB(regdb_root, trial=2).test_split()


# ---------------------------------------------------------------- LLCM


def test_llcm_train_records(llcm_root: Path) -> None:
    records = LLCM(llcm_root).train_records()
    assert [(r.pid, r.camid, r.modality) for r in records] == [
        (1, 1, VISIBLE), (1, 2, VISIBLE), (2, 1, VISIBLE), (1, 4, INFRARED), (2, 0, INFRARED)
    ]
    assert records[0].path == str(llcm_root / "vis/cam1/0001/a.jpg")


@pytest.mark.parametrize(
    "direction,query_folder,gallery_folder", [("i2v", "test_nir", "test_vis"), ("v2i", "test_vis", "test_nir")]
)
def test_llcm_test_split_matches_reference(
    llcm_root: Path, direction: str, query_folder: str, gallery_folder: str
) -> None:
    ds = LLCM(llcm_root)
    query_cams, gallery_cams = (
        [f"{folder}/cam{c}" for c in sorted(int(p.name[3:]) for p in (llcm_root / folder).iterdir())]
        for folder in (query_folder, gallery_folder)
    )
    for trial in range(3):
        query, gallery = ds.test_split(trial=trial, direction=direction)
        assert [r.path for r in query] == reference_query(llcm_root, "idx/test_id.txt", query_cams)
        assert [r.path for r in gallery] == reference_single_shot(llcm_root, "idx/test_id.txt", gallery_cams, trial)
        pairs = [(r.pid, r.camid) for r in gallery]
        assert len(pairs) == len(set(pairs))
        for r in (*query, *gallery):
            assert Path(r.path).parent.parent.name == f"cam{r.camid}"
    assert {r.modality for r in query} == {INFRARED if direction == "i2v" else VISIBLE}
    assert [r.pid for r in query] == sorted(r.pid for r in query)


def test_llcm_errors(llcm_root: Path) -> None:
    (llcm_root / "test_nir" / "extra").mkdir()
    with pytest.raises(
        ValueError,
        match=f"{_re(llcm_root / 'test_nir' / 'extra')}: not a camera folder named cam<number>",
    ):
        LLCM(llcm_root).test_split()
    (llcm_root / "test_nir" / "extra").rmdir()
    (llcm_root / "test_vis" / "cam2" / "seven").mkdir()
    with pytest.raises(
        ValueError,
        match=f"{_re(llcm_root / 'test_vis' / 'cam2' / 'seven')}: unexpected folder",
    ):
        LLCM(llcm_root).test_split()
    (llcm_root / "test_vis" / "cam2" / "seven").rmdir()
    (llcm_root / "idx" / "test_id.txt").write_text("7,8,9,10")
    with pytest.raises(ValueError, match=r"test_id.txt: id\(s\) \[10\] have no images"):
        LLCM(llcm_root).test_split()
    (llcm_root / "idx" / "train_nir.txt").unlink()
    with pytest.raises(
        FileNotFoundError,
        match=f"{_re(llcm_root / 'idx' / 'train_nir.txt')}: missing; expected LLCM layout",
    ):
        LLCM(llcm_root).train_records()


# ---------------------------------------------------------------- factory and validation split


def test_build_dataset(sysu_root: Path, regdb_root: Path, llcm_root: Path) -> None:
    assert isinstance(build_dataset("synthetic", sysu_root), SYSUMM01)
    assert isinstance(build_dataset("sysu", sysu_root), SYSUMM01)
    assert isinstance(build_dataset("regdb", regdb_root), RegDB)
    assert isinstance(build_dataset("llcm", llcm_root), LLCM)
    with pytest.raises(
        ValueError,
        match="unknown dataset 'market': expected one of synthetic, sysu, regdb, llcm",
    ):
        build_dataset("market", sysu_root)


def _records(modalities_by_pid: dict[int, str]) -> list[Record]:
    out = []
    for pid, mods in modalities_by_pid.items():
        for m in mods:
            out.append(Record(f"{pid}{m}", pid, 1, VISIBLE if m == "v" else INFRARED))
    return out


def test_split_validation_by_identity() -> None:
    records = _records({pid: "vvi" for pid in range(10)} | {10: "vv"})
    train, val = split_validation(records, 3, seed=0)
    val_ids = {r.pid for r in val}
    assert len(val_ids) == 3 and 10 not in val_ids  # only ids with both modalities are held out
    assert val_ids.isdisjoint({r.pid for r in train})
    assert train == [r for r in records if r.pid not in val_ids]
    assert val == [r for r in records if r.pid in val_ids]
    assert split_validation(records, 3, seed=0) == (train, val)
    assert {r.pid for r in split_validation(records, 3, seed=1)[1]} != val_ids
    assert split_validation(records, 0, seed=0) == (records, [])
    with pytest.raises(ValueError, match="num_val_ids=10: only 10 training identities have both"):
        split_validation(records, 10, seed=0)
