"""Training engine: exact resume, non-finite losses, model selection files, the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fienet.checkpoint import CheckpointError, load_checkpoint
from fienet.config import Config, apply_overrides, load_config
from fienet.data.synthetic import generate_synthetic
from fienet.engine import NonFiniteLossError, fit
from fienet.optim import lr_factor, unreached_milestones
from fienet.run_folder import RunFolderError


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return generate_synthetic(tmp_path_factory.mktemp("synthetic") / "tiny", preset="tiny", seed=0)


def tiny_config(root: Path, out_dir: Path, *overrides: str) -> Config:
    base = [
        "data.dataset=synthetic", f"data.root={root}", "data.height=32", "data.width=16",
        "data.p=2", "data.k=2", "data.val_ids=2", "data.in_memory=true", "data.workers=0",
        "model.arch=resnet18", "model.weights=null", "train.epochs=2", "train.iters_per_epoch=2",
        "train.optimizer=sgd", "train.lr=0.01", "train.warmup_epochs=1", "train.milestones=[1]",
        "train.eval_every=1", "train.progress=false", "train.device=cpu", "train.amp=fp32",
        f"train.out_dir={out_dir}",
    ]
    return apply_overrides(Config(), [*base, *overrides])


def test_two_epochs_equal_one_epoch_resume_one_epoch(tiny_root, tmp_path) -> None:
    straight = fit(tiny_config(tiny_root, tmp_path / "straight"))
    fit(tiny_config(tiny_root, tmp_path / "resumed", "train.epochs=1"))
    resumed = fit(tiny_config(tiny_root, tmp_path / "resumed"), resume=True)

    a = load_checkpoint(tmp_path / "straight" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "resumed" / "last.pt")["model"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    cols = ["epoch", "lr", "loss", "val_mAP"]
    np.testing.assert_allclose(straight[cols].to_numpy(), resumed[cols].to_numpy())
    assert list(resumed["epoch"]) == [1, 2]


def test_run_folder_holds_history_config_and_checkpoints(tiny_root, tmp_path) -> None:
    # One epoch with milestones [1]: the decay never comes, and the run says so at its start.
    with pytest.warns(UserWarning, match=r"^train\.milestones=\[1\]: 1 not below train\.epochs=1, so the learning rate never"):
        history = fit(tiny_config(tiny_root, tmp_path, "train.epochs=1"))
    assert {"last.pt", "best.pt", "config.yaml", "history.csv", "history.json"} <= {p.name for p in tmp_path.iterdir()}
    saved = load_config(tmp_path / "config.yaml")
    assert saved.data.height == 32 and saved.train.out_dir == str(tmp_path)
    assert json.loads((tmp_path / "history.json").read_text())[0]["epoch"] == 1
    assert 0.0 <= history["val_mAP"].iloc[0] <= 1.0
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 1


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tiny_root, tmp_path, monkeypatch) -> None:
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=1"))
    good = (tmp_path / "last.pt").read_bytes()

    from fienet import losses

    def nan_loss(self, out, labels, is_infrared):
        return out.pooled.sum() * float("nan"), {}

    monkeypatch.setattr(losses.FIENetCriterion, "forward", nan_loss)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2, iteration 1.*last good checkpoint is kept at .*last\.pt"):
        fit(tiny_config(tiny_root, tmp_path), resume=True)
    assert (tmp_path / "last.pt").read_bytes() == good


def test_resume_without_checkpoint_is_a_clear_error(tiny_root, tmp_path) -> None:
    with pytest.raises(RuntimeError, match=r"last\.pt: checkpoint not found"):
        fit(tiny_config(tiny_root, tmp_path / "empty"), resume=True)


def test_warmup_then_step_decay() -> None:
    factors = [lr_factor(e, 2, (4, 6), 0.1) for e in range(8)]
    np.testing.assert_allclose(factors, [0.5, 1.0, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01])


def test_warmup_then_cosine_decay() -> None:
    factors = [lr_factor(e, 2, (), 0.1, "cosine", 6) for e in range(6)]
    # after warm-up: 1 at the first decayed epoch, then half a cosine period over the 4 epochs left
    np.testing.assert_allclose(factors, [0.5, 1.0, 1.0, (1 + np.cos(np.pi / 4)) / 2, 0.5, (1 + np.cos(3 * np.pi / 4)) / 2])
    assert all(a > b for a, b in zip(factors[2:], factors[3:]))
    with pytest.raises(ValueError, match="train.schedule must be 'step' or 'cosine', got 'linear'"):
        lr_factor(5, 2, (), 0.1, "linear", 6)


def test_milestones_at_or_beyond_the_last_epoch_are_named_as_unreached() -> None:
    # Milestone m first decays 0-based epoch m, so with 4 epochs (0..3) milestone 4 never acts.
    assert [lr_factor(e, 0, (3, 4), 0.1) for e in range(4)] == [1.0, 1.0, 1.0, pytest.approx(0.1)]
    cfg = apply_overrides(Config(), ["train.epochs=4", "train.milestones=[3, 4, 9]"]).train
    assert unreached_milestones(cfg) == (4, 9)
    assert unreached_milestones(apply_overrides(Config(), ["train.epochs=10", "train.milestones=[3, 9]"]).train) == ()
    cosine = apply_overrides(Config(), ["train.epochs=4", "train.schedule=cosine"]).train
    assert unreached_milestones(cosine) == ()  # the cosine schedule reads no milestones


def test_overrides_are_typed_and_checked() -> None:
    cfg = apply_overrides(Config(), ["train.milestones=[3, 7]", "model.weights=null", "data.p=4"])
    assert cfg.train.milestones == (3, 7) and cfg.model.weights is None and cfg.data.p == 4
    with pytest.raises(ValueError, match="no field 'train.epoch'"):
        apply_overrides(Config(), ["train.epoch=3"])
    with pytest.raises(ValueError, match="section.field=value"):
        apply_overrides(Config(), ["epochs"])


def test_best_checkpoint_holds_what_evaluation_needs_and_last_what_resume_needs(tiny_root, tmp_path) -> None:
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=1", "train.optimizer=adam"))
    best, last = load_checkpoint(tmp_path / "best.pt"), load_checkpoint(tmp_path / "last.pt")
    assert {"optimizer", "scheduler", "rng"} <= set(last) and not {"optimizer", "scheduler", "rng"} & set(best)
    assert {"model", "config", "num_classes", "epoch", "history"} <= set(best)
    for key in best["model"]:
        assert torch.equal(best["model"][key], last["model"][key])
    # Adam keeps two moments per weight: the resume file is about three times the model's.
    assert (tmp_path / "last.pt").stat().st_size > 2.5 * (tmp_path / "best.pt").stat().st_size


def test_without_validation_best_is_written_once_at_the_end(tiny_root, tmp_path, monkeypatch, capsys) -> None:
    from fienet import engine

    written = []
    save = engine.save_checkpoint
    monkeypatch.setattr(engine, "save_checkpoint", lambda state, path: written.append(Path(path).name) or save(state, path))
    history = fit(tiny_config(tiny_root, tmp_path, "data.val_ids=0", "train.epochs=3"))
    assert written == ["last.pt", "last.pt", "best.pt", "last.pt"]
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 3
    assert "val_mAP" not in history and "test_mAP" not in history
    said = capsys.readouterr().out
    assert "validation: none (data.val_ids: 0)" in said and "train.eval_every has no effect" in said
    assert "test set: not evaluated during training" in said


def test_periodic_test_evaluation_is_reported_as_test_and_never_selects(tiny_root, tmp_path, capsys) -> None:
    history = fit(tiny_config(tiny_root, tmp_path, "train.epochs=3", "train.eval_every=1", "train.test_every=2"))
    said = capsys.readouterr().out
    assert "test set: all-search single-shot, trial 0, every 2 epoch(s)" in said and "never used for selection" in said
    assert "validation: 2 held-out training identities" in said
    measured = history["test_mAP"].notna().tolist()
    assert measured == [False, True, True]  # every 2 epochs and after the last
    assert history.loc[measured, ["test_rank1", "test_mAP", "test_mINP"]].apply(lambda c: c.between(0, 1)).all().all()
    # Selection follows validation alone.
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["epoch"] == int(history["epoch"][history["val_mAP"].idxmax()])


def test_new_run_stopped_before_validation_leaves_no_stale_best(tiny_root, tmp_path, monkeypatch) -> None:
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=1"))
    assert (tmp_path / "best.pt").is_file()

    from fienet import losses

    monkeypatch.setattr(losses.FIENetCriterion, "forward", lambda self, out, *a: (out.pooled.sum() * float("nan"), {}))
    with pytest.raises(NonFiniteLossError, match="no checkpoint was written yet"):
        fit(tiny_config(tiny_root, tmp_path, "train.epochs=1"), overwrite=True)
    assert not (tmp_path / "best.pt").exists()


def test_a_folder_holding_a_run_is_refused_without_resume_or_overwrite(tiny_root, tmp_path) -> None:
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=1"))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(RunFolderError, match=r"already holds a run \(last\.pt, best\.pt.*--resume.*--overwrite"):
        fit(tiny_config(tiny_root, tmp_path, "train.epochs=1", "train.lr=0.02"))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing changed, config.yaml included
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=1", "train.seed=1"), overwrite=True)
    assert load_config(tmp_path / "config.yaml").train.seed == 1
    assert load_checkpoint(tmp_path / "last.pt")["config"]["train"]["seed"] == 1


def test_resume_refuses_a_changed_config_and_names_the_fields(tiny_root, tmp_path) -> None:
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=1"))
    config_before = (tmp_path / "config.yaml").read_bytes()
    with pytest.raises(RunFolderError, match=r"differs in model\.pfam \(run: True, now: False\), train\.lr \(run: 0\.01, now: 0\.5\);"):
        fit(tiny_config(tiny_root, tmp_path, "train.lr=0.5", "model.pfam=false"), resume=True)
    with pytest.raises(RunFolderError, match=r"already trained 1 epoch\(s\) and train\.epochs=1"):
        fit(tiny_config(tiny_root, tmp_path, "train.epochs=1"), resume=True)
    assert (tmp_path / "config.yaml").read_bytes() == config_before
    # what may change: more epochs, and where it runs
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=2", "data.workers=1"), resume=True)
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 2


def test_orphan_temp_files_of_a_killed_write_are_removed_on_the_next_start(tiny_root, tmp_path) -> None:
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=1"))
    orphan = tmp_path / ".last.pt.k3j_x9q2.tmp"  # the name save_checkpoint's temporary file has
    orphan.write_bytes(b"\0" * 1000)
    user_file = tmp_path / "notes.tmp"
    user_file.write_text("mine")
    fit(tiny_config(tiny_root, tmp_path), resume=True)
    assert not orphan.exists() and user_file.read_text() == "mine"


def test_non_finite_weights_are_never_saved(tiny_root, tmp_path, monkeypatch) -> None:
    fit(tiny_config(tiny_root, tmp_path, "train.epochs=1", "data.val_ids=0", "train.iters_per_epoch=1"))
    good = {name: (tmp_path / name).read_bytes() for name in ("last.pt", "best.pt")}
    real_step = torch.optim.SGD.step

    def poisoned_step(self, closure=None):  # the loss stays finite, a weight does not
        out = real_step(self, closure)
        self.param_groups[0]["params"][0].data.fill_(float("nan"))
        return out

    monkeypatch.setattr(torch.optim.SGD, "step", poisoned_step)
    with pytest.raises(CheckpointError, match=r"\.pt: not written: .* NaN or infinity after epoch 2"):
        fit(tiny_config(tiny_root, tmp_path, "data.val_ids=0", "train.iters_per_epoch=1"), resume=True)
    assert {name: (tmp_path / name).read_bytes() for name in good} == good
