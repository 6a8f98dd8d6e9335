"""The synthetic dataset: determinism, the exact SYSU-MM01 layout, look-alike groups, masks."""

from __future__ import annotations

import dataclasses
import itertools
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from fienet.data.sysu import SYSUMM01
from fienet.data.synthetic import (PART_LABELS, PRESETS, SynthConfig, generate_synthetic, load_identity_table,
                                   load_part_mask, resolve_config)
from fienet.data.synthetic.cameras import CAMERAS
from fienet.data.synthetic.figure import View, draw_materials
from fienet.data.synthetic.identities import (CLOTH_COLOURS, COARSE_ATTRIBUTES, FINE_ATTRIBUTE_PART,
                                              FINE_OPTIONS, luminance, make_identities)
from fienet.data.synthetic.parts import ACCESSORY, TOP
from fienet.data.synthetic.render import infrared_intensities, render_image

TINY = resolve_config("tiny")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "tiny"
    start = time.perf_counter()
    generate_synthetic(root, "tiny", seed=0)
    # the tiny preset exists for tests and smoke runs: it must stay quick (generous bound, shared CPUs)
    assert time.perf_counter() - start < 10.0
    return root


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tiny: Path, tmp_path: Path) -> None:
    again = generate_synthetic(tmp_path / "again", "tiny", seed=0)
    other = generate_synthetic(tmp_path / "other", "tiny", seed=1)
    reference = _files(tiny)
    assert _files(again) == reference
    other_files = _files(other)
    assert other_files.keys() == reference.keys()
    changed = [k for k in reference if k.endswith(".jpg") and other_files[k] != reference[k]]
    assert len(changed) == sum(k.endswith(".jpg") for k in reference)


def test_parallel_workers_write_the_same_bytes(tmp_path: Path) -> None:
    small = dict(n_train=2, n_val=0, n_test=2, images_per_camera=1)
    one = generate_synthetic(tmp_path / "one", "tiny", seed=3, **small)
    two = generate_synthetic(tmp_path / "two", "tiny", seed=3, workers=2, **small)
    assert _files(one) == _files(two)


def test_a_dataset_without_validation_ids_reads_back(tmp_path: Path) -> None:
    root = generate_synthetic(tmp_path / "noval", "tiny", seed=0, n_train=2, n_val=0, n_test=2, images_per_camera=1)
    assert (root / "exp" / "val_id.txt").read_text().strip() == ""
    data = SYSUMM01(root)
    assert len(data.train_ids) == 2 and len(data.test_ids) == 2
    (root / "exp" / "train_id.txt").write_text("")  # only the validation list may be empty
    with pytest.raises(ValueError, match=r"train_id.txt: found 0 non-empty lines"):
        SYSUMM01(root).train_ids


def test_an_image_does_not_depend_on_rendering_order() -> None:
    people = make_identities(4, 0, 2, 2, 2, 0.85, seed=5)
    keys = [(p, cam, i) for p in people[:3] for cam in (1, 3) for i in (1, 2)]
    forward = [render_image(p, cam, i, TINY, 5) for p, cam, i in keys]
    backward = [render_image(p, cam, i, TINY, 5) for p, cam, i in reversed(keys)][::-1]
    for (a, am), (b, bm) in zip(forward, backward):
        assert np.array_equal(a, b) and np.array_equal(am, bm)


def test_layout_is_exactly_sysu_mm01(tiny: Path) -> None:
    cfg, n = TINY, TINY.n_identities
    pids = {f"{pid:04d}" for pid in range(1, n + 1)}
    expected_files = {f"{i:04d}.jpg" for i in range(1, cfg.images_per_camera + 1)}
    assert {p.name for p in tiny.iterdir()} == {
        *(f"cam{c}" for c in range(1, 7)), "exp", "masks", "identities.csv", "synth_config.yaml",
        "synth_files.txt"}
    for cam in range(1, 7):
        assert {p.name for p in (tiny / f"cam{cam}").iterdir()} == pids
        for pid in pids:
            assert {p.name for p in (tiny / f"cam{cam}" / pid).iterdir()} == expected_files
    splits = {}
    for split in ("train", "val", "test"):
        lines = (tiny / "exp" / f"{split}_id.txt").read_text().splitlines()
        assert len(lines) == 1
        splits[split] = [int(x) for x in lines[0].split(",")]
    assert [len(splits[s]) for s in ("train", "val", "test")] == [cfg.n_train, cfg.n_val, cfg.n_test]
    assert sorted(sum(splits.values(), [])) == list(range(1, n + 1))  # disjoint, pids start at 1
    table = load_identity_table(tiny)
    for split, ids in splits.items():
        assert sorted(table.loc[table.split == split, "pid"]) == sorted(ids)
    manifest = yaml.safe_load((tiny / "synth_config.yaml").read_text())
    assert manifest["config"] == dataclasses.asdict(cfg) and manifest["seed"] == 0
    assert manifest["part_labels"] == PART_LABELS


def test_sysu_reader_reads_the_synthetic_tree(tiny: Path) -> None:
    dataset = SYSUMM01(tiny)
    query, gallery = dataset.test_split("all", trial=0, shots=1)
    assert {r.camid for r in query} == {3, 6} and {r.modality for r in query} == {"infrared"}
    assert {r.camid for r in gallery} == {1, 2, 4, 5}
    assert len(query) == TINY.n_test * 2 * TINY.images_per_camera
    assert len(gallery) == TINY.n_test * 4
    assert set(dataset.train_ids).isdisjoint(dataset.test_ids)


def test_images_and_masks(tiny: Path) -> None:
    table = load_identity_table(tiny).set_index("pid")
    seen: dict[int, set[int]] = {pid: set() for pid in table.index}
    for path in sorted(tiny.glob("cam*/*/*.jpg")):
        with Image.open(path) as im:
            assert im.mode == "RGB" and im.size == (TINY.width, TINY.height)
            img = np.asarray(im)
        cam = int(path.parts[-3][3:])
        equal = np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])
        assert equal == (CAMERAS[cam].modality == "infrared"), path
        mask = load_part_mask(tiny, path)
        assert mask.dtype == np.uint8 and mask.shape == (TINY.height, TINY.width)
        assert set(np.unique(mask)) <= set(PART_LABELS.values())
        assert (mask > 0).mean() > 0.05, f"{path}: no person in the mask"
        seen[int(path.parts[-2])] |= set(np.unique(mask).tolist())
    for pid, labels in seen.items():
        row = table.loc[pid]
        assert (PART_LABELS["accessory"] in labels) == (row.accessory != "none"), pid
        assert (PART_LABELS["pattern"] in labels) == (row.top_pattern != "plain"), pid
        assert {PART_LABELS[p] for p in ("head", "hair", "torso", "legs", "shoes")} <= labels, pid


def test_look_alikes_differ_in_exactly_the_named_parts() -> None:
    cfg = resolve_config("default")
    table = make_identities(cfg.n_train, cfg.n_val, cfg.n_test, cfg.group_size, cfg.max_fine_parts,
                            cfg.ir_polarity_agreement, seed=0)
    groups: dict[int, list] = {}
    for p in table:
        groups.setdefault(p.group, []).append(p)
    assert sum(len(g) > 1 for g in groups.values()) >= 90
    for members in groups.values():
        assert len({m.split for m in members}) == 1  # groups never straddle splits
        for a in members:
            named = set(a.distinguishing_parts)
            found = set()
            for b in members:
                if b.pid == a.pid:
                    continue
                assert all(getattr(a, k) == getattr(b, k) for k in COARSE_ATTRIBUTES)
                parts = {part for attr, part in FINE_ATTRIBUTE_PART.items() if getattr(a, attr) != getattr(b, attr)}
                assert 1 <= len(parts) <= cfg.max_fine_parts
                found |= parts
            assert found == named
    assert all(not p.distinguishing_parts for p in make_identities(6, 0, 3, 1, 2, 0.85, seed=0))


def test_the_written_table_names_the_parts(tiny: Path) -> None:
    table = load_identity_table(tiny)
    for _, group in table.groupby("group"):
        rows = group.to_dict("records")
        for a in rows:
            found = set()
            for b in rows:
                if b["pid"] != a["pid"]:
                    assert all(a[k] == b[k] for k in COARSE_ATTRIBUTES)
                    found |= {part for attr, part in FINE_ATTRIBUTE_PART.items() if a[attr] != b[attr]}
            assert found == set(a["distinguishing_parts"])


@pytest.mark.parametrize("part", list(FINE_OPTIONS))
def test_every_fine_difference_shows_from_every_side(part: str) -> None:
    base = make_identities(1, 0, 0, 1, 1, 1.0, seed=0)[0]
    views = [View(f, d, 32.0, 8.0, 110.0, 0.06) for f in ("front", "back", "side") for d in (1, -1)]
    for accessory in FINE_OPTIONS["accessory"]:
        person = dataclasses.replace(base, **accessory)
        for a, b in itertools.combinations(FINE_OPTIONS[part], 2):
            pa, pb = dataclasses.replace(person, **a), dataclasses.replace(person, **b)
            for view in views:
                assert not np.array_equal(draw_materials(pa, view, 128, 64), draw_materials(pb, view, 128, 64)), (
                    part, a, b, accessory, view.facing)


def test_infrared_intensity_mixes_luminance_and_thermal() -> None:
    p = make_identities(1, 0, 0, 1, 1, 1.0, seed=1)[0]
    assert infrared_intensities(p, 0.0, 0.7)[TOP] == pytest.approx(p.thermal_top, abs=1e-6)
    assert infrared_intensities(p, 1.0, 0.7)[TOP] == pytest.approx(luminance(CLOTH_COLOURS[p.top_colour]), abs=1e-6)
    assert infrared_intensities(p, 0.25, 0.7)[ACCESSORY] == pytest.approx(
        0.25 * luminance(CLOTH_COLOURS[p.accessory_colour]) + 0.75 * p.thermal_accessory, abs=1e-6)


def test_colour_is_modality_specific_and_thermal_is_hidden_from_visible() -> None:
    cfg = dataclasses.replace(TINY, ir_luminance_mix=0.0)
    p = make_identities(1, 0, 0, 1, 1, 1.0, seed=2)[0]
    other_colour = next(c for c in CLOTH_COLOURS if c != p.top_colour)
    recoloured = dataclasses.replace(p, top_colour=other_colour)
    warmer = dataclasses.replace(p, thermal_top=1.0 - p.thermal_top)
    for cam in (1, 3):
        image = render_image(p, cam, 1, cfg, 0)[0]
        infrared = cam == 3
        # at mix 0 a new colour changes only the visible image, a new thermal value only the infrared one
        assert np.array_equal(image, render_image(recoloured, cam, 1, cfg, 0)[0]) == infrared
        assert np.array_equal(image, render_image(warmer, cam, 1, cfg, 0)[0]) != infrared


def test_rerun_on_the_same_dataset_is_a_no_op_and_foreign_folders_are_refused(tiny: Path, tmp_path: Path) -> None:
    stamp = (tiny / "cam1" / "0001" / "0001.jpg").stat().st_mtime_ns
    assert generate_synthetic(tiny, "tiny", seed=0) == tiny
    assert (tiny / "cam1" / "0001" / "0001.jpg").stat().st_mtime_ns == stamp
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="notes: not empty and holds no synth_files.txt"):
            generate_synthetic(foreign, "tiny", overwrite=overwrite)
    assert (foreign / "todo.txt").read_text() == "keep me"


def test_overwrite_never_touches_a_real_dataset_in_the_sysu_layout(tmp_path: Path) -> None:
    """A folder of real images in the SYSU-MM01 layout, but not generated: nothing is deleted."""
    real = tmp_path / "SYSU-MM01"
    for cam in CAMERAS:
        folder = real / f"cam{cam}" / "0001"
        folder.mkdir(parents=True)
        Image.fromarray(np.full((8, 4, 3), 40 * cam, np.uint8)).save(folder / "0001.jpg")
    (real / "exp").mkdir()
    (real / "exp" / "train_id.txt").write_text("1\n")
    before = _files(real)
    with pytest.raises(FileExistsError, match="SYSU-MM01: not empty and holds no synth_files.txt"):
        generate_synthetic(real, "tiny", overwrite=True)
    assert _files(real) == before


def test_overwrite_removes_only_the_files_the_generator_listed(tmp_path: Path) -> None:
    small = dict(n_train=2, n_val=0, n_test=2, images_per_camera=1)
    root = generate_synthetic(tmp_path / "d", "tiny", seed=0, **small)
    listed = (root / "synth_files.txt").read_text().splitlines()[1:]
    assert sorted(listed) == sorted(k for k in _files(root) if k not in ("synth_files.txt", "synth_config.yaml"))
    (root / "cam1" / "0003" / "my_photo.png").write_bytes(b"user data")  # added by a user
    (root / "README.txt").write_text("my notes")
    with pytest.raises(FileExistsError, match=r"synth_config.yaml: describes another synthetic dataset.*--overwrite"):
        generate_synthetic(root, "tiny", seed=1, **small)
    generate_synthetic(root, "tiny", seed=1, overwrite=True, n_train=1, n_val=0, n_test=1, images_per_camera=1)
    assert (root / "cam1" / "0003" / "my_photo.png").read_bytes() == b"user data"
    assert (root / "README.txt").read_text() == "my notes"
    assert yaml.safe_load((root / "synth_config.yaml").read_text())["seed"] == 1
    # the old dataset's images are gone, the user's folder stays because it holds the user's file
    assert sorted(p.name for p in (root / "cam1").iterdir()) == ["0001", "0002", "0003"]
    assert [p.name for p in (root / "cam1" / "0003").iterdir()] == ["my_photo.png"]
    assert not (root / "masks" / "cam1" / "0004").exists()


def test_an_interrupted_generation_is_replaced_only_with_overwrite(tmp_path: Path) -> None:
    small = dict(n_train=1, n_val=0, n_test=1, images_per_camera=1)
    root = generate_synthetic(tmp_path / "d", "tiny", seed=0, **small)
    (root / "synth_config.yaml").unlink()  # as if killed before the end
    with pytest.raises(FileExistsError, match="unfinished synthetic dataset"):
        generate_synthetic(root, "tiny", seed=0, **small)
    generate_synthetic(root, "tiny", seed=0, overwrite=True, **small)
    assert (root / "synth_config.yaml").is_file()


def test_temporary_files_of_a_killed_run_are_removed_and_the_dataset_comes_out_right(tmp_path: Path) -> None:
    small = dict(n_train=1, n_val=0, n_test=1, images_per_camera=1)
    clean = _files(generate_synthetic(tmp_path / "clean", "tiny", seed=0, **small))
    # Killed while writing its very first file: the folder holds only that file's temporary copy.
    first = tmp_path / "first"
    first.mkdir()
    (first / ".synth_files.txt.k3j_x9q2.tmp").write_text("# fienet synthetic")
    generate_synthetic(first, "tiny", seed=0, **small)
    assert _files(first) == clean
    # Killed later: temporaries beside the lists in the root and in exp/, which readers never list.
    later = generate_synthetic(tmp_path / "later", "tiny", seed=0, **small)
    (later / "synth_config.yaml").unlink()
    own = [later / ".synth_config.yaml.ab_12.tmp", later / ".identities.csv.zz9.tmp", later / "exp" / ".test_id.txt.q1.tmp"]
    for path in own:
        path.write_text("partial")
    (later / ".notes.txt.abc.tmp").write_text("a user's")  # not a name the generator writes: kept
    assert len(SYSUMM01(later).train_records()) == len(SYSUMM01(tmp_path / "clean").train_records())
    generate_synthetic(later, "tiny", seed=0, overwrite=True, **small)
    assert _files(later) == clean | {".notes.txt.abc.tmp": b"a user's"}


@pytest.mark.parametrize("kwargs, message", [
    (dict(seed=-1), "seed -1: expected an integer >= 0"),
    (dict(workers=0), "workers 0: expected an integer >= 1"),
    (dict(n_train=0), "n_train"),
])
def test_out_of_range_arguments_are_named(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_synthetic(tmp_path / "d", "tiny", **kwargs)
    assert not (tmp_path / "d").exists()


def test_config_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"unknown synthetic preset 'extreme'.*'tiny'"):
        resolve_config("extreme")
    with pytest.raises(ValueError, match=r"unknown SynthConfig field\(s\) \['ir_mix'\]"):
        resolve_config("default", ir_mix=0.5)
    with pytest.raises(ValueError, match=r"ir_luminance_mix must be in \[0, 1\], got 1.5"):
        SynthConfig(ir_luminance_mix=1.5)
    with pytest.raises(ValueError, match="max_fine_parts must be 1 or 2"):
        SynthConfig(max_fine_parts=3)
    assert {"tiny", "easy", "default", "moderate", "medium", "hard"} <= set(PRESETS)
    for name in PRESETS:
        resolve_config(name)  # every preset is valid


def test_readers_report_the_offending_path(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"identities.csv: missing"):
        load_identity_table(tmp_path)
    with pytest.raises(ValueError, match="not inside the dataset root"):
        load_part_mask(tiny, tmp_path / "cam1" / "0001" / "0001.jpg")
    with pytest.raises(FileNotFoundError, match=r"0099\.png: missing"):
        load_part_mask(tiny, "cam1/0001/0099.jpg")
    absolute = tiny / "cam3" / "0002" / "0001.jpg"
    assert np.array_equal(load_part_mask(tiny, absolute), load_part_mask(tiny, "cam3/0002/0001.jpg"))
