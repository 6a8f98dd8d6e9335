"""What the notebooks share: parameters, smoke mode, checkpoint hand-over, small utilities."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fienet import notebook
from fienet.checkpoint import save_checkpoint
from fienet.config import Config, apply_overrides, load_config
from fienet.data.records import Record
from fienet.data.synthetic import ensure_synthetic, generate_synthetic
from fienet.model import build_model
from fienet.modalities import INFRARED, VISIBLE
from fienet.notebook.smoke import smoke_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_synthetic(tmp_path_factory.mktemp("data") / "synthetic", preset="tiny", seed=0)


@pytest.fixture
def smoke_ctx(tiny_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> notebook.NotebookContext:
    # An absolute SMOKE_DATA keeps the smoke dataset out of the repository during tests.
    monkeypatch.setattr(notebook.smoke, "SMOKE_DATA", str(tiny_root))
    return notebook.setup(smoke=True, run_dir=tmp_path / "runs", device="cpu")


def test_repo_root_from_inside_and_outside(tmp_path: Path) -> None:
    assert notebook.find_repo_root(REPO / "notebooks") == REPO
    assert notebook.find_repo_root(REPO / "fienet" / "data") == REPO
    # Outside any checkout, the package's own location still leads to the root.
    assert notebook.find_repo_root(tmp_path) == REPO


def test_resolve_path_relative_to_repo(tmp_path: Path) -> None:
    assert notebook.resolve_path("data/synthetic", REPO) == REPO / "data" / "synthetic"
    assert notebook.resolve_path(tmp_path, REPO) == tmp_path


def test_smoke_requested_only_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIENET_SMOKE", "1")
    assert notebook.smoke_requested()
    for value in ("0", "", "true"):
        monkeypatch.setenv("FIENET_SMOKE", value)
        assert not notebook.smoke_requested()
    monkeypatch.delenv("FIENET_SMOKE")
    assert not notebook.smoke_requested()


def test_ensure_synthetic_notes_another_dataset(tiny_root: Path, capsys: pytest.CaptureFixture) -> None:
    assert ensure_synthetic(tiny_root, "tiny", 0) == tiny_root
    assert capsys.readouterr().out == ""
    ensure_synthetic(tiny_root, "default", 0)
    assert f"note: {tiny_root} holds synthetic preset 'tiny' (seed 0), not preset 'default' (seed 0)" in capsys.readouterr().out
    ensure_synthetic(tiny_root, "tiny", 3)
    assert "not preset 'tiny' (seed 3)" in capsys.readouterr().out


def test_setup_errors_name_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="DATASET='market': expected one of synthetic, sysu, regdb, llcm"):
        notebook.setup(dataset="market")
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope.yaml")) + ": missing; expected a YAML"):
        notebook.setup(config=tmp_path / "nope.yaml")
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "SYSU")) + ": folder missing; expected SYSU-MM01"):
        notebook.setup(dataset="sysu", data_root=tmp_path / "SYSU", config="configs/sysu.yaml")


def test_dataset_picks_config_and_root_and_a_foreign_config_is_an_error(tmp_path: Path) -> None:
    # DATASET alone picks configs/sysu.yaml and its data.root (missing here: the reader says so).
    with pytest.raises(FileNotFoundError, match=re.escape(str(REPO / "data" / "SYSU-MM01"))):
        notebook.setup(dataset="sysu")
    with pytest.raises(ValueError, match="data.dataset is 'synthetic' but DATASET='regdb'; expected a config for regdb"):
        notebook.setup(dataset="regdb", config="configs/demo.yaml")


def test_real_dataset_without_model_stops_with_the_command(tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "sysu.yaml")
    ctx = notebook.NotebookContext(REPO, "sysu", tmp_path / "SYSU", cfg, torch.device("cpu"), False,
                                   tmp_path / "runs", REPO / "configs" / "sysu.yaml")
    ctx.cfg = ctx.variant_config("fienet")
    with pytest.raises(notebook.MissingModelError, match="does not start it unasked") as info:
        notebook.load_or_train(ctx, "baseline")
    assert (f"fienet train --config configs/sysu.yaml data.root={tmp_path / 'SYSU'} model.pfam=false "
            f"model.mpim=false loss.igcl_weight=0 train.out_dir={tmp_path / 'runs' / 'baseline'}") in str(info.value)


def test_training_plan_says_how_long_and_how_to_shorten() -> None:
    demo = load_config(REPO / "configs" / "demo.yaml")
    plan = notebook.training_plan(demo, "cpu")
    images = demo.train.epochs * demo.train.iters_per_epoch * 2 * demo.data.p * demo.data.k
    fast, slow = (images / r / 60 for r in (max(notebook.DEMO_CPU_IMAGES_PER_S.values()),
                                             min(notebook.DEMO_CPU_IMAGES_PER_S.values())))
    assert f"({images:,} images)" in plan and f"about {fast:.0f} to {slow:.0f} min on 2 cores" in plan
    assert all(f"{rate:.0f} images/s on an {name}" in plan for name, rate in notebook.DEMO_CPU_IMAGES_PER_S.items())
    assert "train.epochs" in plan
    assert "not measured, expect hours" in notebook.training_plan(load_config(REPO / "configs" / "sysu.yaml"), "cpu")


def test_smoke_context_is_tiny_and_separate(smoke_ctx: notebook.NotebookContext, tmp_path: Path) -> None:
    cfg = smoke_ctx.cfg
    assert smoke_ctx.smoke and smoke_ctx.dataset == "synthetic"
    assert (cfg.model.arch, cfg.model.weights, cfg.data.height, cfg.data.width) == ("resnet18", None, 64, 32)
    assert (cfg.train.epochs, cfg.train.iters_per_epoch, cfg.train.milestones) == (2, 3, ())
    assert smoke_ctx.run_dir == tmp_path / "runs-smoke"  # never the folder of real runs
    assert Path(cfg.train.out_dir) == tmp_path / "runs-smoke" / "fienet"
    assert "SMOKE" in smoke_ctx.describe()


def test_variant_configs(smoke_ctx: notebook.NotebookContext) -> None:
    base = smoke_ctx.variant_config("baseline")
    assert (base.model.pfam, base.model.mpim, base.loss.igcl_weight) == (False, False, 0)
    assert Path(base.train.out_dir) == smoke_ctx.run_dir / "baseline"
    # Smoke training is tiny already: the quick variant is the same run.
    assert smoke_ctx.variant_config("fienet", quick=True) == smoke_ctx.cfg
    with pytest.raises(ValueError, match="unknown model variant 'resnet'; expected one of"):
        smoke_ctx.variant_config("resnet")


def test_quick_config_cuts_the_schedule(tiny_root: Path, tmp_path: Path) -> None:
    ctx = notebook.setup(data_root=tiny_root, config="configs/demo.yaml", run_dir=tmp_path, device="cpu")
    assert ctx.cfg.train.epochs == load_config(REPO / "configs" / "demo.yaml").train.epochs
    assert not ctx.smoke
    quick = ctx.variant_config("fienet", quick=True)
    assert quick.train.epochs == notebook.QUICK_EPOCHS
    assert quick.train.warmup_epochs == 1
    assert all(m < notebook.QUICK_EPOCHS for m in quick.train.milestones)
    assert Path(quick.train.out_dir) == tmp_path / "fienet-quick"
    assert ctx.cfg.train.epochs == load_config(REPO / "configs" / "demo.yaml").train.epochs  # untouched


def test_synthetic_trains_the_short_schedule_unless_asked(tiny_root: Path, tmp_path: Path) -> None:
    ctx = notebook.setup(data_root=tiny_root, config="configs/demo.yaml", run_dir=tmp_path, device="cpu")
    full_epochs = load_config(REPO / "configs" / "demo.yaml").train.epochs
    assert ctx.quick_by_default and f"cut to {notebook.QUICK_EPOCHS} epochs" in ctx.describe()
    # Notebook 02's default is exactly the run 03 and 04 would train when it is missing.
    short = ctx.training_config()
    assert short == ctx.variant_config("fienet", quick=True)
    assert (short.train.epochs, Path(short.train.out_dir)) == (notebook.QUICK_EPOCHS, tmp_path / "fienet-quick")
    full = ctx.training_config(full_schedule=True)
    assert full == ctx.variant_config("fienet") and full.train.epochs == full_epochs
    assert Path(full.train.out_dir) == tmp_path / "fienet"
    # An exercise's change to ctx.cfg is trained as it is, on the same schedule.
    ctx.cfg = apply_overrides(ctx.cfg, ["loss.igcl_weight=0"])
    changed = ctx.training_config()
    assert changed.loss.igcl_weight == 0 and changed.train.epochs == notebook.QUICK_EPOCHS
    assert ctx.cfg.train.epochs == full_epochs  # the context's config is never cut in place


def test_real_dataset_and_smoke_have_one_schedule(smoke_ctx: notebook.NotebookContext, tmp_path: Path) -> None:
    cfg = load_config(REPO / "configs" / "sysu.yaml")
    ctx = notebook.NotebookContext(REPO, "sysu", tmp_path / "SYSU", cfg, torch.device("cpu"), False,
                                   tmp_path / "runs", REPO / "configs" / "sysu.yaml")
    ctx.cfg = ctx.variant_config("fienet")
    assert not ctx.quick_by_default and "cut to" not in ctx.describe()
    assert ctx.training_config() == ctx.training_config(full_schedule=True) == ctx.cfg
    assert ctx.training_config().train.epochs == cfg.train.epochs
    assert not smoke_ctx.quick_by_default and smoke_ctx.training_config() == smoke_ctx.cfg


def _save_trained(cfg: Config, num_classes: int = 6) -> Path:
    """A checkpoint of an untrained model as training writes it (into the config's run folder)."""
    torch.manual_seed(0)
    model = build_model(cfg.model, num_classes)
    path = Path(cfg.train.out_dir) / "best.pt"
    save_checkpoint({"model": model.state_dict(), "num_classes": num_classes, "epoch": cfg.train.epochs,
                     "config": cfg.to_dict()}, path)
    return path


def test_notebooks_03_and_04_find_what_02_wrote(tiny_root: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    # The smoke model on the synthetic data, outside smoke mode: the schedules of real runs, tiny.
    cfg = smoke_config(REPO / "configs" / "demo.yaml", REPO)
    cfg.data.root, cfg.train.epochs = str(tiny_root), 6
    ctx = notebook.NotebookContext(REPO, "synthetic", tiny_root, cfg, torch.device("cpu"), False, tmp_path)
    ctx.cfg = ctx.variant_config("fienet")
    short = _save_trained(ctx.training_config())  # notebook 02 as it runs by default
    capsys.readouterr()
    assert notebook.find_checkpoint(ctx, quick=None) == short
    assert capsys.readouterr().out == ""  # no whole-schedule run is the usual case: nothing to say
    found = notebook.load_or_train(ctx, "fienet")
    assert (found.path, found.quick, found.cfg.train.epochs) == (short, True, notebook.QUICK_EPOCHS)
    out = capsys.readouterr().out
    assert "training" not in out
    assert f"loaded {short} ({notebook.QUICK_EPOCHS} epochs, the notebooks' short schedule)" in out
    # After a FULL_SCHEDULE run, 03 and 04 take that model; asked for the short one, they still get it.
    full = _save_trained(ctx.training_config(full_schedule=True))
    assert notebook.find_checkpoint(ctx, quick=None) == full
    found = notebook.load_or_train(ctx, "fienet")
    assert (found.path, found.quick, found.cfg.train.epochs) == (full, False, 6)
    assert notebook.load_or_train(ctx, "fienet", quick=True).path == short


def _short_ctx(tiny_root: Path, tmp_path: Path) -> notebook.NotebookContext:
    """The smoke model on the synthetic data, outside smoke mode: the notebooks' schedules, tiny."""
    cfg = smoke_config(REPO / "configs" / "demo.yaml", REPO)
    cfg.data.root, cfg.train.epochs = str(tiny_root), 6
    ctx = notebook.NotebookContext(REPO, "synthetic", tiny_root, cfg, torch.device("cpu"), False, tmp_path)
    ctx.cfg = ctx.variant_config("fienet")
    return ctx


def test_an_exercise_run_without_igcl_is_not_read_as_fienet(tiny_root: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    ctx = _short_ctx(tiny_root, tmp_path)
    # the baseline's folder holding a FIENet is refused
    _save_trained(_as_folder(ctx, "baseline"))
    capsys.readouterr()
    assert notebook.find_checkpoint(ctx, "baseline", quick=True) is None
    assert "not as baseline" in capsys.readouterr().out
    ctx.cfg = apply_overrides(ctx.cfg, ["loss.igcl_weight=0"])  # notebook 02's exercise 1
    path = _save_trained(ctx.training_config())
    assert path == tmp_path / "fienet-quick" / "best.pt"
    assert notebook.find_checkpoint(ctx, quick=None) is None  # looked up without applying the variant
    out = capsys.readouterr().out
    assert f"ignoring {path}" in out and "loss.igcl_weight=0.0, not as FIENet" in out


def _as_folder(ctx: notebook.NotebookContext, folder: str) -> Config:
    """FIENet's short-schedule config written into another variant's folder."""
    cfg = ctx.variant_config("fienet", quick=True)
    cfg.train.out_dir = str(ctx.run_folder(folder, quick=True))
    return cfg


def test_an_unfinished_run_is_not_read(tiny_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ctx = _short_ctx(tiny_root, tmp_path)
    short = _save_trained(ctx.training_config())
    full_cfg = ctx.training_config(full_schedule=True)
    full = _save_trained(full_cfg)
    history = full.parent / "history.json"
    history.write_text(json.dumps([{"epoch": 1}, {"epoch": 2}, {"epoch": 3}]))  # stopped after 3 of 6
    capsys.readouterr()
    assert notebook.find_checkpoint(ctx, quick=None) == short  # the finished short run, not the stopped one
    out = capsys.readouterr().out
    assert f"ignoring {full}: its run stopped after epoch 3 of {full_cfg.train.epochs}" in out
    assert "--resume" in out
    history.write_text(json.dumps([{"epoch": e} for e in range(1, full_cfg.train.epochs + 1)]))
    assert notebook.find_checkpoint(ctx, quick=None) == full
    history.write_text("[{")  # a truncated history is said, not trusted
    assert notebook.find_checkpoint(ctx, quick=False) is None
    assert "history.json is unreadable" in capsys.readouterr().out


def test_schedule_differences_name_the_fields() -> None:
    demo = load_config(REPO / "configs" / "demo.yaml")
    assert notebook.schedule_differences(demo, load_config(REPO / "configs" / "demo.yaml")) == []
    short = apply_overrides(demo, ["train.epochs=4", "train.lr=0.001"])
    assert notebook.schedule_differences(demo, short) == [
        f"train.epochs: {demo.train.epochs} vs 4", f"train.lr: {demo.train.lr} vs 0.001"]


def test_find_checkpoint_checks_the_data(smoke_ctx: notebook.NotebookContext, capsys: pytest.CaptureFixture) -> None:
    path = smoke_ctx.run_dir / "fienet" / "best.pt"
    assert notebook.find_checkpoint(smoke_ctx) is None
    assert f"no checkpoint at {path}" in capsys.readouterr().out

    other = smoke_ctx.variant_config("fienet")
    other.data.height = 128
    save_checkpoint({"model": {}, "epoch": 1, "config": other.to_dict()}, path)
    assert notebook.find_checkpoint(smoke_ctx) is None
    assert f"ignoring {path}: it was trained on synthetic at {smoke_ctx.root} with 128x32 inputs" in capsys.readouterr().out

    save_checkpoint({"model": {}, "epoch": 1, "config": smoke_ctx.cfg.to_dict()}, path)
    assert notebook.find_checkpoint(smoke_ctx) == path


def test_folder_tree(tmp_path: Path) -> None:
    for pid in ("0001", "0002", "0003"):
        (tmp_path / "cam1" / pid).mkdir(parents=True)
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "test_id.txt").write_text("1,2\n")
    assert notebook.folder_tree(tmp_path, depth=2, max_entries=2) == "\n".join([
        f"{tmp_path}/",
        "    cam1/  (3 entries)",
        "        0001/  (0 entries)",
        "        0002/  (0 entries)",
        "        ... 1 more",
        "    exp/  (1 entries)",
        "        test_id.txt",
    ])
    assert notebook.folder_tree(tmp_path, depth=1, top_entries=1) == f"{tmp_path}/\n    cam1/  (3 entries)\n    ... 1 more"
    with pytest.raises(FileNotFoundError, match="missing; expected a dataset folder"):
        notebook.folder_tree(tmp_path / "absent")


def test_load_images_resizes_to_uint8(tmp_path: Path) -> None:
    pixels = np.zeros((8, 4, 3), dtype=np.uint8)
    pixels[..., 0] = 200  # a uniform red image stays uniform red after resizing
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(np.full((8, 4, 3), 50, dtype=np.uint8)).save(tmp_path / "b.png")
    records = [Record(str(tmp_path / "a.png"), 1, 1, VISIBLE), Record(str(tmp_path / "b.png"), 1, 3, INFRARED)]
    images = notebook.load_images(records, 16, 8)
    assert images.shape == (2, 16, 8, 3) and images.dtype == np.uint8
    assert (images[0] == [200, 0, 0]).all() and (images[1] == 50).all()


def _as_committed(path: Path) -> str:
    """The notebook as a commit would store it.

    With the nbstripout filter registered (``make git-filter``) that is the staged version: the
    file on disk may hold outputs (JupyterLab autosaves) that ``git add`` strips. Without the
    filter, or outside git, it is the file itself.
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=path.parent, capture_output=True, text=True, check=True).stdout

    try:
        if git("config", "filter.nbstripout.clean").strip():
            return git("show", f":./{path.name}")
    except (OSError, subprocess.CalledProcessError):
        pass
    return path.read_text()


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_clean_with_a_parameters_cell(path: Path) -> None:
    cells = json.loads(_as_committed(path))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name}: no code cells"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        f"{path.name}: stored with outputs; clear them, or run `make git-filter` so that git add strips them"
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), f"{path.name}: first code cell not tagged 'parameters'"
    assert re.match(r"\d\d_", path.name), f"{path.name}: notebooks are numbered"


PANEL_WIDTH = 90  # characters of code JupyterLab shows beside the file browser without scrolling


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_code_lines_fit_the_panel(path: Path) -> None:
    cells = json.loads(_as_committed(path))["cells"]
    long = [(cell.get("id"), line) for cell in cells if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if len(line) > PANEL_WIDTH]
    assert not long, (
        f"{path.name}: {len(long)} code line(s) longer than {PANEL_WIDTH} characters run past the "
        f"panel's edge, first in cell {long[0][0]}: {long[0][1]!r}; expected at most {PANEL_WIDTH}"
    )


def _as_in_head(path: Path) -> str:
    """The notebook as the last commit holds it (the file itself outside git)."""
    try:
        return subprocess.run(
            ["git", "show", f"HEAD:./{path.name}"], cwd=path.parent, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return path.read_text()


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_as_the_filter_writes_them(path: Path, tmp_path: Path) -> None:
    """A fresh clone with the nbstripout filter must not see a stored notebook as modified."""
    pytest.importorskip("nbstripout")
    copy = tmp_path / path.name
    copy.write_text(_as_in_head(path))
    stripped = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--keep-id", "--textconv", str(copy)],
        capture_output=True, text=True, check=True,
    ).stdout
    assert stripped == copy.read_text(), (
        f"{path.name}: not in the form the nbstripout filter stores (key order or metadata differ); "
        f"run `python -m nbstripout --keep-id {path}` and commit"
    )
