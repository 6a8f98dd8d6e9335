"""Trivial matchers: hand-computed distances, self-match sanity, the floor table on tiny data of every layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fienet.data import LLCM, SYSUMM01, RegDB
from fienet.data.synthetic import generate_synthetic
from fienet.evaluation import evaluate
from fienet.evaluation.trivial import histogram_distmat, pixel_cosine_distmat, trivial_floor
from fienet.protocols import UNFILTERED


def _write(path: Path, gray: np.ndarray) -> str:
    Image.fromarray(gray.astype(np.uint8)).convert("RGB").save(path)  # PNG: lossless
    return str(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_synthetic(tmp_path_factory.mktemp("synth") / "tiny", "tiny", seed=0)


def test_pixel_cosine_hand_values(tmp_path: Path) -> None:
    ramp = np.tile(np.arange(16) * 6 + 20, (32, 1))  # (32, 16), already the matcher's size
    a = _write(tmp_path / "a.png", ramp)
    brighter = _write(tmp_path / "b.png", 2 * ramp + 5)  # affine change: same after centring
    inverted = _write(tmp_path / "c.png", 255 - ramp)  # centred vectors point opposite ways
    rows = _write(tmp_path / "d.png", np.tile((np.arange(32) * 7)[:, None], (1, 16)))
    d = pixel_cosine_distmat([a], [a, brighter, inverted, rows])
    assert d.shape == (1, 4)
    np.testing.assert_allclose(d[0, :3], [0.0, 0.0, 2.0], atol=1e-5)
    assert d[0, 3] == pytest.approx(1.0, abs=1e-5)  # a column ramp and a row ramp are orthogonal


def test_histogram_hand_values(tmp_path: Path) -> None:
    black = _write(tmp_path / "k.png", np.zeros((8, 8)))
    white = _write(tmp_path / "w.png", np.full((8, 8), 255))
    half = _write(tmp_path / "h.png", np.concatenate([np.zeros((4, 8)), np.full((4, 8), 255)]))
    d = histogram_distmat([black], [black, white, half])
    # half vs black: bins (0.5, 0.5) vs (1, 0) -> 0.5 * (0.25 / 1.5 + 0.25 / 0.5) = 1/3
    np.testing.assert_allclose(d[0], [0.0, 1.0, 1.0 / 3.0], atol=1e-12)
    with pytest.raises(ValueError, match="bins=30: expected a divisor of 256"):
        histogram_distmat([black], [white], bins=30)


def test_every_image_is_its_own_nearest_pixel_match(tiny: Path) -> None:
    paths = sorted(str(p) for p in tiny.glob("cam*/*/*.jpg"))[:60]
    d = pixel_cosine_distmat(paths, paths)
    np.testing.assert_array_equal(d.argmin(axis=1), np.arange(len(paths)))
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-5)


def test_floor_table_on_tiny_data(tiny: Path) -> None:
    table = trivial_floor(tiny, trials=range(2))
    assert list(table.index) == ["pixel_cosine", "gray_histogram"]
    assert list(table.columns) == ["rank1", "rank10", "rank20", "mAP", "mINP"]
    values = table.to_numpy()
    assert np.all((values >= 0) & (values <= 100))
    assert np.all(table.rank1 <= table.rank10) and np.all(table.rank10 <= table.rank20)
    # the tiny test set has 4 identities, so every true match is within rank 4
    np.testing.assert_allclose(table.rank10, 100.0)


def test_a_folder_is_read_as_sysu_layout_and_the_default_setting_is_the_first(tiny: Path) -> None:
    table = trivial_floor(tiny, trials=range(2))
    assert table.equals(trivial_floor(SYSUMM01(tiny), trials=range(2)))
    assert table.equals(trivial_floor(tiny, mode="all", shots=1, trials=range(2)))  # the first setting, named
    assert not table.equals(trivial_floor(tiny, mode="indoor", shots=1, trials=range(2)))


def test_the_floor_uses_the_readers_protocol(tiny: Path) -> None:
    class Unfiltered(SYSUMM01):  # the same splits, nothing filtered: camera 2 stays for camera-3 queries
        protocol = UNFILTERED

    assert not trivial_floor(tiny, trials=range(2)).equals(trivial_floor(Unfiltered(tiny), trials=range(2)))


@pytest.mark.parametrize("fixture, make_reader, split_kwargs", [
    ("llcm_root", LLCM, {}),
    ("llcm_root", LLCM, {"direction": "v2i"}),
    ("regdb_root", lambda root: RegDB(root, trial=2), {}),
])
def test_floor_of_any_reader_is_the_plain_per_trial_evaluation(request, fixture, make_reader, split_kwargs) -> None:
    reader = make_reader(request.getfixturevalue(fixture))
    setting = next((s for s in reader.settings() if s.split_kwargs == split_kwargs), reader.settings()[0])
    table = trivial_floor(reader, **split_kwargs)
    for matcher, distances in (("pixel_cosine", pixel_cosine_distmat), ("gray_histogram", histogram_distmat)):
        maps = []
        for trial in setting.trials:
            query, gallery = reader.split(setting, trial)
            d = distances([r.path for r in query], [r.path for r in gallery])
            res = evaluate(d, np.array([r.pid for r in query]), np.array([r.pid for r in gallery]),
                           np.array([r.camid for r in query]), np.array([r.camid for r in gallery]), reader.protocol)
            maps.append(100.0 * res["mAP"])
        assert table.loc[matcher, "mAP"] == pytest.approx(np.mean(maps), abs=1e-9)


def test_missing_image_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.jpg: image file missing"):
        pixel_cosine_distmat([str(tmp_path / "nowhere.jpg")], [])
    with pytest.raises(FileNotFoundError, match=r"nowhere\.jpg: image file missing"):
        histogram_distmat([str(tmp_path / "nowhere.jpg")], [])
