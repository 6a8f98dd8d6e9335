"""Shared fixtures: tiny image files and fake dataset trees in each real layout.

Every tree is written fresh into the test's ``tmp_path``, so a test may break it (delete a list
file, add a stray folder) without affecting others. Images are a few pixels large.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from fienet.config import ModelConfig
from fienet.data import generate_synthetic
from fienet.model import build_model

# SYSU-MM01 tree: {pid: {camera: number of images}}. Ids 1, 2 train, 3 val, 4..6 test. Counts
# straddle the multi-shot size (10) and some (id, camera) folders are absent on purpose.
SYSU_IMAGES = {
    1: {1: 2, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1},
    2: {1: 1, 4: 2, 3: 1},
    3: {2: 3, 5: 1, 6: 2},
    4: {1: 12, 2: 3, 4: 1, 3: 2, 6: 1},
    5: {1: 2, 4: 11, 5: 2, 3: 1, 6: 2},
    6: {1: 1, 2: 2, 5: 10, 6: 3},
}
SYSU_SPLITS = {"train": (2, 1), "val": (3,), "test": (6, 4, 5)}  # file order, not sorted

# RegDB: 4 identities x 2 images per modality; trial 1 trains on ids 0, 1, trial 2 on ids 2, 3.
REGDB_TRAIN = {1: (0, 1), 2: (2, 3)}
REGDB_TEST = {1: (2, 3), 2: (0, 1)}

# LLCM test tree: {modality folder: {camera: {pid: number of images}}}; NIR has no camera 3.
LLCM_TEST_IMAGES = {
    "test_vis": {1: {7: 3, 8: 1}, 2: {7: 2, 9: 4}, 3: {8: 2, 9: 1}},
    "test_nir": {1: {7: 2, 9: 1}, 2: {8: 3}, 4: {7: 1, 8: 1, 9: 2}},
}
LLCM_TEST_IDS = (9, 7, 8)
LLCM_TRAIN = {  # list file: (relpath, label) lines
    "train_vis.txt": [("vis/cam1/0001/a.jpg", 1), ("vis/cam2/0001/b.jpg", 1), ("vis/cam1/0002/c.jpg", 2)],
    "train_nir.txt": [("nir/cam4/0001/a.jpg", 1), ("nir/0002/d.jpg", 2)],
}


def _write_image(
    path: Path, color: tuple[int, int, int] = (200, 100, 50), size: tuple[int, int] = (4, 8), gray: bool = False
) -> Path:
    """Write a solid-colour image (format from the suffix); ``size`` is (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if gray:
        Image.new("L", size, color[0]).save(path)
    else:
        Image.new("RGB", size, color).save(path)
    return path


@pytest.fixture
def write_image() -> Callable[..., Path]:
    """``write_image(path, color=(r, g, b), size=(w, h), gray=False)`` writes a solid image file."""
    return _write_image


def _write_ids(path: Path, ids: tuple[int, ...]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(str(i) for i in ids) + "\n")


@pytest.fixture
def sysu_root(tmp_path: Path) -> Path:
    """A SYSU-MM01 tree per ``SYSU_IMAGES`` and ``SYSU_SPLITS`` (all six camera folders exist)."""
    root = tmp_path / "SYSU-MM01"
    rng = np.random.default_rng(0)
    for cam in range(1, 7):
        (root / f"cam{cam}").mkdir(parents=True)
    for pid, cams in SYSU_IMAGES.items():
        for cam, n in cams.items():
            for i in range(n):
                color = tuple(int(c) for c in rng.integers(0, 256, 3))
                _write_image(root / f"cam{cam}" / f"{pid:04d}" / f"{i + 1:04d}.jpg", color)
    for split, ids in SYSU_SPLITS.items():
        _write_ids(root / "exp" / f"{split}_id.txt", ids)
    return root


@pytest.fixture
def regdb_root(tmp_path: Path) -> Path:
    """A RegDB tree with trials 1 and 2 (``REGDB_TRAIN``/``REGDB_TEST``), thermal images grayscale BMP."""
    root = tmp_path / "RegDB"
    for word, folder, gray in (("visible", "Visible", False), ("thermal", "Thermal", True)):
        for pid in range(4):
            for i in range(2):
                _write_image(root / folder / str(pid) / f"{word}_{i}.bmp", (60 * pid + 10 * i, 80, 120), gray=gray)
        for trial in (1, 2):
            for split, ids in (("train", REGDB_TRAIN[trial]), ("test", REGDB_TEST[trial])):
                lines = [f"{folder}/{pid}/{word}_{i}.bmp {pid}" for pid in ids for i in range(2)]
                (root / "idx").mkdir(exist_ok=True)
                (root / "idx" / f"{split}_{word}_{trial}.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def llcm_root(tmp_path: Path) -> Path:
    """An LLCM tree per ``LLCM_TEST_IMAGES``, ``LLCM_TEST_IDS`` and ``LLCM_TRAIN``."""
    root = tmp_path / "LLCM"
    for folder, cams in LLCM_TEST_IMAGES.items():
        for cam, pids in cams.items():
            for pid, n in pids.items():
                for i in range(n):
                    _write_image(root / folder / f"cam{cam}" / f"{pid:04d}" / f"{i:03d}.jpg", (10 * cam, pid, i))
    (root / "idx").mkdir()
    for name, lines in LLCM_TRAIN.items():
        for relpath, _ in lines:
            _write_image(root / relpath)
        (root / "idx" / name).write_text("".join(f"{relpath} {label}\n" for relpath, label in lines))
    _write_ids(root / "idx" / "test_id.txt", LLCM_TEST_IDS)
    return root


# Notebooks: `make test` collects them twice, as nbmake items (notebooks/*.ipynb) and through the
# browser check (tests/test_browser.py), which runs every cell of each one in JupyterLab and
# checks more. Running both doubled the notebooks' time, so when the browser check runs, it is the
# one run of the notebooks; where it skips (no Chromium), nbmake runs them. Measured reasons:
# notebooks/README.md, "Checked in a browser".
_NOTEBOOKS_IN_BROWSER: list[str] = []


@pytest.hookimpl(trylast=True)  # after -m / -k have deselected what they do
@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One intra-op thread for a module (``pytestmark = pytest.mark.usefixtures("one_thread")``):
    tiny convolutions gain nothing from more, and on a busy machine competing threads make them
    several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model() -> nn.Module:
    """A tiny random FIENet (resnet18, ``weights=None``, PFAM and MPIM on, 4 identities) in
    evaluation mode, one per module: what the explanation tests explain."""
    torch.manual_seed(0)
    return build_model(ModelConfig(arch="resnet18", weights=None), 4).eval()


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic preset with its part masks and identity table, generated once; read only."""
    return generate_synthetic(tmp_path_factory.mktemp("synthetic") / "tiny", preset="tiny")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser = [i for i in items if i.get_closest_marker("browser") is not None]
    if not browser or any(m.args and m.args[0] for m in browser[0].iter_markers("skipif")):
        return
    covered = {Path(str(i.callspec.params["path"])).name for i in browser if hasattr(i, "callspec")}
    twice = [i for i in items if i.path.suffix == ".ipynb" and i.path.name in covered]
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = [i for i in items if i not in twice]
        _NOTEBOOKS_IN_BROWSER.extend(i.path.name for i in twice)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _NOTEBOOKS_IN_BROWSER:
        terminalreporter.write_line(
            f"nbmake items deselected, run in JupyterLab by tests/test_browser.py instead: "
            f"{', '.join(_NOTEBOOKS_IN_BROWSER)} (FIENET_BROWSER=0 runs them with nbmake)"
        )
