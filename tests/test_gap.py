"""The modality-gap measurement: a visible-only model and the two searches it is judged by."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fienet.data.loader as loader_module
import fienet.evaluation.gap as gap_module
from fienet.config import Config, apply_overrides
from fienet.data import select_train_modalities
from fienet.data.records import Record
from fienet.data.sysu import SYSUMM01
from fienet.modalities import INFRARED, VISIBLE
from fienet.data.synthetic import generate_synthetic
from fienet.data.synthetic.config import resolve_config
from fienet.engine import fit, training_records
from fienet.evaluation.gap import modality_gap


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return generate_synthetic(tmp_path_factory.mktemp("synthetic") / "tiny", preset="tiny", seed=0)


def test_visible_only_records_hold_no_infrared_image() -> None:
    records = [Record("v1.jpg", 1, 1, VISIBLE), Record("i1.jpg", 1, 3, INFRARED), Record("v2.jpg", 2, 4, VISIBLE)]
    assert select_train_modalities(records, "both") == records
    chosen = select_train_modalities(records, "visible")
    assert {r.path for r in chosen} == {"v1.jpg", "v2.jpg"}
    # Each identity keeps an infrared half (the sampler needs it), made of its visible images.
    assert sorted((r.pid, r.modality) for r in chosen) == [(1, INFRARED), (1, VISIBLE), (2, INFRARED), (2, VISIBLE)]
    with pytest.raises(ValueError, match="data.train_modalities='infrared'"):
        select_train_modalities(records, "infrared")


def test_visible_only_training_never_decodes_an_infrared_image(tiny_root, tmp_path, monkeypatch) -> None:
    cfg = apply_overrides(Config(), [
        "data.dataset=synthetic", f"data.root={tiny_root}", "data.height=32", "data.width=16",
        "data.p=2", "data.k=2", "data.val_ids=0", "data.in_memory=true", "data.workers=0",
        "data.train_modalities=visible", "model.arch=resnet18", "model.weights=null",
        "train.epochs=1", "train.iters_per_epoch=1", "train.warmup_epochs=0", "train.milestones=[]",
        "train.progress=false", "train.device=cpu", "train.amp=fp32", f"train.out_dir={tmp_path / 'run'}",
    ])
    infrared_paths = {r.path for r in training_records(cfg) if r.modality == INFRARED}
    decoded = []
    real_load = loader_module.load_image
    monkeypatch.setattr(loader_module, "load_image", lambda path: decoded.append(path) or real_load(path))
    fit(cfg)
    assert decoded and not set(decoded) & infrared_paths


def _pid_features(noisy_infrared: bool):
    """Features that are a one-hot of the identity, optionally random for infrared images."""
    def extract(model, records, height, width, device="cpu", **_):
        rng = np.random.default_rng(0)
        pids = sorted({r.pid for r in records})
        feats = np.zeros((len(records), len(pids)), dtype=np.float32)
        for i, r in enumerate(records):
            if noisy_infrared and r.modality == INFRARED:
                feats[i] = rng.standard_normal(len(pids))
            else:
                feats[i, pids.index(r.pid)] = 1.0
        return feats / np.linalg.norm(feats, axis=1, keepdims=True)
    return extract


def test_modality_gap_separates_the_two_searches(tiny_root, monkeypatch) -> None:
    monkeypatch.setattr(gap_module, "extract_features", _pid_features(noisy_infrared=False))
    both = modality_gap(None, SYSUMM01(tiny_root), 32, 16, trials=range(2))
    assert list(both.index) == ["visible-to-visible", "infrared-to-visible"]
    assert (both["rank1"] == 100.0).all() and (both["trials"] == 2).all()
    # A model blind to infrared keeps its visible search and loses the cross-modal one.
    monkeypatch.setattr(gap_module, "extract_features", _pid_features(noisy_infrared=True))
    blind = modality_gap(None, SYSUMM01(tiny_root), 32, 16, trials=range(2))
    assert blind.loc["visible-to-visible", "rank1"] == 100.0
    assert blind.loc["infrared-to-visible", "rank1"] < 100.0

    class OtherProtocol(SYSUMM01):  # the same folder read under another protocol
        protocol = "llcm"

    with pytest.raises(ValueError, match="has the 'llcm' protocol; expected a dataset with the 'sysu' protocol"):
        modality_gap(None, OtherProtocol(tiny_root), 32, 16)


def test_thermal_preset_changes_only_the_infrared_mix() -> None:
    default, thermal = resolve_config("default").to_dict(), resolve_config("thermal").to_dict()
    assert {k for k in default if default[k] != thermal[k]} == {"ir_luminance_mix"}
    assert thermal["ir_luminance_mix"] == 0.3


def test_infrared_mix_views_change_only_the_infrared_image() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from fienet.data.synthetic import infrared_mix_views
    from fienet.plots import infrared_mix_grid

    rows = infrared_mix_views([1, 2], [1.0, 0.3], preset="tiny")
    assert len(rows) == 2 and all(len(r) == 3 for r in rows)
    visible, luminance, thermal = rows[0]
    assert (luminance[..., 0] == luminance[..., 2]).all() and (thermal[..., 0] == thermal[..., 2]).all()
    assert not (visible[..., 0] == visible[..., 2]).all()  # colour
    assert np.abs(luminance.astype(int) - thermal).mean() > 1.0  # the mix moves the infrared pixels
    assert infrared_mix_views([1], [0.5], preset="tiny")[0][0].tobytes() == visible.tobytes()
    fig = infrared_mix_grid(rows, [1.0, 0.3], [1, 2])
    assert len(fig.axes) == 6 and fig.axes[2].get_title() == "infrared, mix 0.3"
    with pytest.raises(ValueError, match="not identities of preset 'tiny'"):
        infrared_mix_views([999], [0.3], preset="tiny")
