"""Checks of the explanation checks, on a tiny random FIENet and the tiny synthetic preset:
the annotation reader, occlusion against a plain loop, deletion curves, randomisation, rank
correlation, and the audit tables."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fienet.config import ModelConfig
from fienet.data import SYSUMM01
from fienet.modalities import INFRARED, VISIBLE
from fienet.data.synthetic import PartAnnotations, load_identity_table, load_part_mask
from fienet.explain import (OCCLUSION, AuditInputs, CamExplainer, ContrastiveTarget, GradientExplainer,
                            IdentityTarget, ModalityWrapper, SimilarityScore, SimilarityTarget, audit_explanations,
                            audit_models, audit_summary, audit_table, cam_energy_shares, check_settings,
                            contrastive_audit, deletion_auc, deletion_curves, embed_images, gradient_x_input,
                            has_layer, identity_references, is_empty, layer_cells, make_explainer, mean_baseline,
                            occlusion_maps, randomized_copy, rank_correlation)
from fienet.explain import comparison
from fienet.explain.audit import as_audit, cam_maps, per_modality
from fienet.model import build_model

H, W = 64, 32

pytestmark = pytest.mark.usefixtures("one_thread")  # model, synthetic_root: tests/conftest.py


def _images(n: int, h: int = H, w: int = W, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- the annotation reader


def test_part_annotations_read_masks_and_lookalike_truth(synthetic_root):
    notes = PartAnnotations(synthetic_root)
    table = load_identity_table(synthetic_root).set_index("pid")
    query, _ = SYSUMM01(synthetic_root).test_split()
    image = query[0].path
    assert np.array_equal(notes.mask(image), load_part_mask(synthetic_root, image))
    small = notes.mask(image, 16, 8)
    assert small.shape == (16, 8) and set(np.unique(small)) <= set(np.unique(notes.mask(image)))
    grouped = table[table.groupby("group")["group"].transform("size") > 1]
    pid = int(grouped.index[0])
    mates = notes.lookalikes(pid)
    assert mates and pid not in mates and all(table.loc[m, "group"] == table.loc[pid, "group"] for m in mates)
    # an identity's distinguishing parts are the union of what differs from each look-alike
    union = set().union(*(notes.differing_parts(pid, m) for m in mates))
    assert union == set(notes.distinguishing_parts(pid)) == set(table.loc[pid, "distinguishing_parts"])
    assert notes.differing_parts(pid, pid) == ()
    assert notes.labels(["head", "shoes"]) == (notes.part_labels["head"], notes.part_labels["shoes"])
    with pytest.raises(ValueError, match=r"no row for pid\(s\) \[99999\]"):
        notes.distinguishing_parts(99999)
    with pytest.raises(ValueError, match="unknown part name"):
        notes.labels(["wings"])
    with pytest.raises(ValueError, match="give both or neither"):
        notes.mask(image, height=16)


# ---------------------------------------------------------------- scores and perturbation


def test_similarity_score_and_contrastive_target_agree_with_the_cam_targets(model):
    x, a, b = _images(2), torch.randn(2, 512), torch.randn(2, 512)
    score = SimilarityScore(model, INFRARED)
    with torch.no_grad():
        emb = model.embed(x, INFRARED)
        got, got_contrast = score(x, a), score(x, a, b)
    for i in range(2):
        assert float(got[i]) == pytest.approx(float(SimilarityTarget(a[i])(emb[i])), abs=1e-5)
        expected = float(SimilarityTarget(a[i])(emb[i]) - SimilarityTarget(b[i])(emb[i]))
        assert float(got_contrast[i]) == pytest.approx(float(ContrastiveTarget(a[i], b[i])(emb[i])), abs=1e-6)
        assert float(got_contrast[i]) == pytest.approx(expected, abs=1e-5)


def test_occlusion_equals_a_plain_loop_over_windows(model):
    x, ref = _images(2, 16, 8), torch.randn(2, 512)
    maps = occlusion_maps(model, VISIBLE, x, ref, fraction=4, overlap=False)  # windows of 4x2
    score = SimilarityScore(model, VISIBLE)
    fill = mean_baseline(x)
    expected = np.zeros((2, 16, 8), dtype=np.float32)
    with torch.no_grad():
        before = score(x, ref)
        for top in range(0, 16, 4):
            for left in range(0, 8, 2):
                hole = x.clone()
                hole[:, :, top:top + 4, left:left + 2] = fill[:, :, top:top + 4, left:left + 2]
                expected[:, top:top + 4, left:left + 2] = (before - score(hole, ref)).numpy()[:, None, None]
    assert maps.shape == (2, 16, 8)
    np.testing.assert_allclose(maps, expected, atol=1e-5)


def test_deletion_curves_run_from_the_image_to_its_mean(model):
    x, ref = _images(2, 16, 8), torch.randn(2, 512)
    curves = deletion_curves(model, INFRARED, x, ref, np.random.default_rng(0).random((2, 16, 8)), steps=4)
    score = SimilarityScore(model, INFRARED)
    with torch.no_grad():
        np.testing.assert_allclose(curves[:, 0], score(x, ref).numpy(), atol=1e-5)
        np.testing.assert_allclose(curves[:, -1], score(mean_baseline(x), ref).numpy(), atol=1e-5)
    assert curves.shape == (2, 5)
    # the k-th point removes exactly the k/steps most-attributed pixels
    order = np.arange(16 * 8, dtype=np.float32)[::-1].reshape(1, 16, 8).repeat(2, 0)  # top rows first
    half = deletion_curves(model, INFRARED, x, ref, order, steps=2)[:, 1]
    hole = x.clone()
    hole[:, :, :8] = mean_baseline(x)[:, :, :8]
    with torch.no_grad():
        np.testing.assert_allclose(half, score(hole, ref).numpy(), atol=1e-5)


def test_deletion_auc_by_hand():
    assert deletion_auc(np.array([[1.0, 0.5, 0.0]])) == pytest.approx(0.5)  # linear: a random order
    assert deletion_auc(np.array([[1.0, 0.0, 0.0]])) == pytest.approx(0.25)  # falls at once
    assert deletion_auc(np.array([[3.0, 2.0, 1.0], [1.0, 0.0, -1.0]])) == pytest.approx(0.5)  # shift, scale free
    assert math.isnan(deletion_auc(np.array([[0.2, 0.5, 0.2]])))  # removing everything changed nothing
    # below its own end: counts as the end, so the area is that of [1, 0, 0], not of [1, -2, 0]
    assert deletion_auc(np.array([[0.8, 0.2, 0.5]])) == pytest.approx(0.25)
    assert deletion_auc(np.array([[0.8, 0.2, 0.5], [0.8, 0.8, 0.5]])) == pytest.approx(0.25)  # the mean is clipped
    assert deletion_auc(np.array([[1.0, 1.5, 0.0]])) == pytest.approx(1.0)  # above the start is kept: worse than none


def test_randomized_copy_redraws_every_layer_and_leaves_the_original(model):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    first, again, other = randomized_copy(model, 0), randomized_copy(model, 0), randomized_copy(model, 1)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name])
    convs = [n for n, p in model.named_parameters() if p.dim() == 4]
    assert convs and all(not torch.equal(first.state_dict()[n], before[n]) for n in convs)
    assert all(torch.equal(first.state_dict()[n], again.state_dict()[n]) for n in before)
    assert not torch.equal(first.state_dict()[convs[0]], other.state_dict()[convs[0]])
    assert not first.training


def test_rank_correlation_and_empty_maps():
    a = np.arange(32, dtype=np.float32).reshape(8, 4)
    assert rank_correlation(a, 2 * a + 1, (4, 2)) == pytest.approx(1.0)
    assert rank_correlation(a, -a, (4, 2)) == pytest.approx(-1.0)
    assert math.isnan(rank_correlation(np.zeros((8, 4)), a, (4, 2)))
    assert is_empty(np.zeros((3, 3))) and not is_empty(np.eye(3))
    with pytest.raises(ValueError, match="two \\(H, W\\) maps of one size"):
        rank_correlation(a, a[:4], (2, 2))


def test_pfam3_is_the_aggregated_stage3_map():
    fienet = build_model(ModelConfig(arch="resnet18", weights=None), 4)
    assert fienet.target_layer("pfam3") is fienet.pfam.step23
    baseline = build_model(ModelConfig(arch="resnet18", weights=None, pfam=False, mpim=False), 4)
    with pytest.raises(ValueError, match=r"model.pfam=false"):
        baseline.target_layer("pfam3")


# ---------------------------------------------------------------- the audit tables


def _records(root: Path, identities: int):
    query, gallery = SYSUMM01(root).test_split()
    keep = sorted({r.pid for r in query})[:identities]
    return [r for r in query + gallery if r.pid in keep]


def test_audit_scores_every_setting_on_the_same_images(model, synthetic_root):
    records = _records(synthetic_root, 1)
    settings = [("gradcam", "layer3"), ("hirescam", "pfam3"), ("gradient", "input")]
    inputs = AuditInputs(PartAnnotations(synthetic_root), records, H, W, fraction=4, overlap=False, deletion_steps=4)
    audit = audit_explanations(model, inputs, settings)
    table = audit.per_image
    assert table.groupby(["method", "layer"], sort=False).size().to_dict() == {
        OCCLUSION: len(records), ("gradcam", "layer3"): len(records), ("hirescam", "pfam3"): len(records),
        ("gradient", "input"): len(records)}
    assert table.loc[table["method"] == "gradcam", "cells"].iloc[0] == "4x2"  # layer3 of a 64x32 input
    assert table.loc[table["method"] == "occlusion", "cells"].iloc[0] == "4x4"
    assert table.loc[table["method"] == "gradient", "cells"].iloc[0] == f"{H}x{W}"  # the pixels
    shares = table[["person", "parts"]].to_numpy()
    assert np.isnan(shares[table["empty"]]).all()  # an empty map has no shares, nothing averaged in
    assert (np.nan_to_num(shares) >= 0).all() and (np.nan_to_num(shares) <= 1).all()
    summary = audit_summary(audit)
    assert summary.index.tolist() == [OCCLUSION, *settings]
    gradcam = table[table["method"] == "gradcam"]
    valid = gradcam[~gradcam["empty"]]
    assert summary.loc[("gradcam", "layer3"), "person lift"] == pytest.approx(
        valid["person"].mean() / valid["person_area"].mean())
    assert summary.loc[("gradcam", "layer3"), "empty maps (%)"] == pytest.approx(100 * gradcam["empty"].mean())
    assert np.isfinite(summary["deletion AUC / random"].drop(index=[("hirescam", "pfam3")])).all()  # all empty there
    assert summary.loc[("gradcam", "layer3"), ["Spearman vs occlusion", "person lift, random weights"]].notna().all()
    # randomisation: the trained map against the randomised copy's, for every row, the reference too
    # gradient x input is ranked by its signed attributions, as occlusion is, and scored on their positive part
    loaded = inputs.load("cpu")[: len(records)]
    refs = torch.randn(len(records), model.feature_dim, generator=torch.Generator().manual_seed(0))
    targets = [SimilarityTarget(r) for r in refs]
    signed = cam_maps(model, ("gradient", "input"), loaded, records, targets, signed=True)
    shown = cam_maps(model, ("gradient", "input"), loaded, records, targets)
    positive = np.clip(signed, 0, None)
    assert (signed < 0).any()
    assert np.allclose(shown, positive / positive.reshape(len(records), -1).max(axis=1)[:, None, None], atol=1e-6)
    # the audit's randomisation and occlusion columns, recomputed independently for two rows
    everything = inputs.everything
    images_all = inputs.load("cpu")
    random_model = randomized_copy(model, inputs.seed)
    refs, random_refs = (identity_references(embed_images(m, images_all, everything), everything)[: len(records)]
                         for m in (model, random_model))  # fmt: skip
    grid = inputs.grid()

    def per_row(fn, net, references):
        return per_modality(fn, net, records, images_all[: len(records)], references)

    def occlusion(net, modality, x, r):
        return occlusion_maps(net, modality, x, r, fraction=4, overlap=False)

    def gradient(net, modality, x, r):
        with make_explainer(net, modality, "input", "gradient", signed=True) as explainer:
            return explainer(x, [SimilarityTarget(v) for v in r])

    for method, fn in (("occlusion", occlusion), ("gradient", gradient)):
        trained, randomised = per_row(fn, model, refs), per_row(fn, random_model, random_refs)
        rows = table[table["method"] == method]
        assert rows["random_spearman"].to_numpy() == pytest.approx(
            [rank_correlation(a, b, grid) for a, b in zip(trained, randomised)], abs=1e-6)
        assert rows["random_spearman_abs"].to_numpy() == pytest.approx(
            [rank_correlation(np.abs(a), np.abs(b), grid) for a, b in zip(trained, randomised)], abs=1e-6)
        if method == "gradient":  # ranked by its signed attributions against occlusion's
            occluded = per_row(occlusion, model, refs)
            assert rows["spearman"].to_numpy() == pytest.approx(
                [rank_correlation(a, o, grid) for a, o in zip(trained, occluded)], abs=1e-6)
            # its lifts score the positive part of the signed map, as score_maps does with the masks
            masks, notes = inputs.masks(records), inputs.annotations
            labels = [notes.labels(notes.distinguishing_parts(r.pid)) for r in records]
            for i in range(len(records)):
                shares = cam_energy_shares(np.clip(trained[i], 0, None), masks[i], labels[i])
                assert rows[["person", "parts"]].iloc[i].to_numpy() == pytest.approx(
                    [shares["person"], shares["parts"]], abs=1e-6)
            magnitude = cam_energy_shares(np.abs(trained[0]), masks[0], labels[0])  # what |map| would give
            assert abs(magnitude["person"] - rows["person"].iloc[0]) > 1e-3
            # and its deletion removes the most positive pixels first, not the largest magnitudes
            expected = per_modality(deletion_curves, model, records, images_all[: len(records)], refs, trained,
                                    steps=inputs.deletion_steps)  # fmt: skip
            np.testing.assert_allclose(audit.curves[("gradient", "input")], expected, atol=1e-5)
            by_magnitude = per_modality(deletion_curves, model, records, images_all[: len(records)], refs,
                                        np.abs(trained), steps=inputs.deletion_steps)  # fmt: skip
            assert not np.allclose(by_magnitude, expected, atol=1e-3)
    assert summary.loc[OCCLUSION, "empty maps, random weights (%)"] == 0
    for method in ("occlusion", "gradient"):  # maps that are never flat: a correlation for every image
        assert table.loc[table["method"] == method, "random_spearman"].between(-1, 1).all()
    assert summary.loc[OCCLUSION, "Spearman, trained vs random weights"] == pytest.approx(
        table.loc[table["method"] == "occlusion", "random_spearman"].mean())
    assert summary.loc[OCCLUSION, ["person lift, random weights", "parts lift, random weights"]].notna().all()
    # At initialisation PFAM's projections are zero, so the score does not depend on the
    # aggregated stage-3 map: every map there is empty, and the table says so instead of averaging.
    assert summary.loc[("hirescam", "pfam3"), "empty maps (%)"] == 100
    assert math.isnan(summary.loc[("hirescam", "pfam3"), "Spearman vs occlusion"])
    assert math.isnan(summary.loc[("hirescam", "pfam3"), "deletion AUC / random"])  # nothing ranked
    # a layer the model lacks is skipped, not an error
    baseline = build_model(ModelConfig(arch="resnet18", weights=None, pfam=False, mpim=False), 4).eval()
    # (and a pool may hold other identities in one modality only, e.g. look-alikes' visible images)
    others = [r for r in _records(synthetic_root, 3) if r.modality == VISIBLE and r.pid not in {x.pid for x in records}]
    inputs = replace(inputs, pool=others, deletion_steps=2)
    skipped = audit_explanations(baseline, inputs, [("gradcam", "pfam3")])
    assert audit_summary(skipped).index.tolist() == [OCCLUSION]
    with pytest.raises(ValueError, match="records is empty"):
        replace(inputs, records=())


def test_deletion_ratio_leaves_out_the_images_whose_map_is_empty():
    # Three images: the second map is empty, and its (arbitrary) deletion curve falls at once.
    per_image = pd.DataFrame({"method": "gradcam", "layer": "layer3", "cells": "2x1", "empty": [False, True, False],
                              "person": [0.5, np.nan, 0.4], "parts": [0.2, np.nan, 0.1], "person_area": 0.3,
                              "parts_area": 0.1, "spearman": [0.1, np.nan, 0.3]})
    ours = np.array([[1.0, 0.3, 0.0], [1.0, 0.0, 0.0], [1.0, 0.5, 0.0]])
    random = np.array([[1.0, 0.6, 0.0], [1.0, 0.9, 0.0], [1.0, 0.4, 0.0]])
    audit = as_audit([per_image], {("random", "order"): random, ("gradcam", "layer3"): ours})
    got = audit_summary(audit).loc[("gradcam", "layer3"), "deletion AUC / random"]
    keep = [0, 2]
    assert got == pytest.approx(deletion_auc(ours[keep]) / deletion_auc(random[keep]))
    assert got != pytest.approx(deletion_auc(ours) / deletion_auc(random))  # the empty map would count
    every_map_empty = as_audit([per_image.assign(empty=True)], audit.curves)
    assert math.isnan(audit_summary(every_map_empty).loc[("gradcam", "layer3"), "deletion AUC / random"])
    with pytest.raises(ValueError, match="3 images .* per-image table has 2"):
        audit_summary(as_audit([per_image.iloc[:2]], audit.curves))


def test_contrastive_audit_scores_the_parts_a_pair_differs_in(model, synthetic_root):
    records = _records(synthetic_root, 8)
    notes = PartAnnotations(synthetic_root)
    queries = [r for r in records if r.modality == INFRARED]
    audit = contrastive_audit(model, AuditInputs(notes, queries, H, W, pool=records, fraction=4, overlap=False),
                              [("gradcam", "layer3")])
    table = audit.per_image
    assert len(table) > 0 and set(table["modality"]) == {INFRARED}
    for _, row in table.iterrows():
        assert row["lookalike"] in notes.lookalikes(row["pid"])
        assert row["differing_parts"] == ";".join(notes.differing_parts(row["pid"], row["lookalike"]))
    summary = audit_summary(audit)
    assert summary.index.tolist() == [OCCLUSION, ("gradcam", "layer3")]
    assert summary["deletion AUC / random"].isna().all()  # not measured for the contrastive score


def test_audit_inputs_from_split_take_the_first_identities_and_their_lookalikes(synthetic_root):
    notes = PartAnnotations(synthetic_root)
    query, gallery = SYSUMM01(synthetic_root).test_split()
    inputs = AuditInputs.from_split(notes, query, gallery, H, W, identities=2, per_identity=2, fraction=4)
    ids = sorted({r.pid for r in query})[:2]
    assert [r.pid for r in inputs.records] == [ids[0], ids[0], ids[1], ids[1]]
    assert len({r.path for r in inputs.records}) == 4 and inputs.fraction == 4
    wanted = set(ids) | {m for pid in ids for m in notes.lookalikes(pid)}
    assert {r.pid for r in inputs.pool} == {r.pid for r in gallery if r.pid in wanted}
    assert inputs.everything[:4] == list(inputs.records) and len(inputs.everything) == 4 + len(inputs.pool)


def test_audit_models_stacks_one_audit_per_model_on_the_same_images(model, synthetic_root):
    records = _records(synthetic_root, 1)
    inputs = AuditInputs(PartAnnotations(synthetic_root), records, H, W, fraction=4, overlap=False, deletion_steps=2)
    baseline = build_model(ModelConfig(arch="resnet18", weights=None, pfam=False, mpim=False), 4).eval()
    audits = audit_models({"baseline": baseline, "FIENet": model}, inputs, [("gradcam", "pfam3")])
    table = audit_table(audits)
    assert table.index.names == ["model", "method", "layer"]
    assert table.index.tolist() == [("baseline", *OCCLUSION), ("FIENet", *OCCLUSION), ("FIENet", "gradcam", "pfam3")]
    for name, audit in audits.items():
        assert audit.per_image["path"].iloc[: len(records)].tolist() == [r.path for r in records]
        assert table.loc[name].equals(audit_summary(audit))


# ---------------------------------------------------------------- gradient x input


def test_gradient_x_input_is_the_first_order_estimate_of_occluding_pixels(model):
    """Summed over any region, the attribution is the slope of the score as the region moves
    towards the mean colour (forward-mode differentiation, computed independently of the
    backward pass): the first-order Taylor estimate of occluding that region."""
    net = randomized_copy(model, seed=3)
    wrapper = ModalityWrapper(net, INFRARED)
    images = _images(2)
    reference = net.embed(_images(2, seed=5), VISIBLE).detach()  # (2, D)
    targets = [SimilarityTarget(r) for r in reference]
    attribution = gradient_x_input(wrapper, images, targets)  # (2, H, W)
    assert attribution.shape == (2, H, W)
    score = SimilarityScore(net, INFRARED)
    for rows, cols in ((slice(10, 20), slice(5, 20)), (slice(30, 50), slice(0, W)), (slice(0, H), slice(0, W))):
        mask = torch.zeros(1, 1, H, W)
        mask[..., rows, cols] = 1
        towards_mean = mask * (mean_baseline(images) - images)  # (2, 3, H, W)
        with torch.no_grad():
            _, slope = torch.func.jvp(lambda x: score(x, reference), (images,), (towards_mean,))  # (2,)
        predicted = (attribution * mask[:, 0]).sum(dim=(1, 2))  # score drop per unit step
        assert torch.allclose(-slope, predicted, rtol=5e-3, atol=1e-7), (-slope, predicted)
    # no gradient left on the weights, as after a CAM
    assert all(p.grad is None for p in net.parameters())


def test_gradient_explainer_has_the_cam_interface(model):
    images = _images(3)
    reference = model.embed(_images(3, seed=7), VISIBLE).detach()
    targets = [SimilarityTarget(r) for r in reference]
    model.train()
    try:
        with make_explainer(model, INFRARED, "input", "gradient") as explainer:
            assert isinstance(explainer, GradientExplainer) and not model.training
            maps = explainer(images, targets)
        assert model.training  # modes restored on leaving
    finally:
        model.eval()
    for p in model.parameters():  # a caller's gradients are left alone
        p.grad = torch.ones_like(p)
    try:
        with GradientExplainer(model, INFRARED) as explainer:
            explainer(images, targets)
        assert all(p.grad is not None and bool((p.grad == 1).all()) for p in model.parameters())
    finally:
        model.zero_grad(set_to_none=True)
    assert maps.shape == (3, H, W) and maps.dtype == np.float32
    assert maps.min() >= 0 and np.allclose(maps.reshape(3, -1).max(axis=1), 1)  # positive part, peak 1
    signed = gradient_x_input(ModalityWrapper(model, INFRARED), images, targets).numpy()
    positive = np.clip(signed, 0, None)
    assert np.allclose(maps, positive / positive.reshape(3, -1).max(axis=1)[:, None, None], atol=1e-6)
    with GradientExplainer(model, INFRARED, signed=True) as explainer:
        assert np.allclose(explainer(images, targets), signed, atol=1e-6)
    assert has_layer(model, "input") and layer_cells(model, "input", images[0], INFRARED) == f"{H}x{W}"
    with pytest.raises(ValueError, match="expected layer 'input', got 'layer3'"):
        make_explainer(model, INFRARED, "layer3", "gradient")
    with pytest.raises(ValueError, match="unknown explanation method 'saliency'"):
        make_explainer(model, INFRARED, "input", "saliency")
    with GradientExplainer(model, INFRARED) as explainer:
        with pytest.raises(ValueError, match="got 2 targets for 3 images"):
            explainer(images, targets[:2])
        with pytest.raises(ValueError, match="got no targets for 3 images"):
            explainer(images)
    with pytest.raises(RuntimeError, match="inside `with GradientExplainer"):
        GradientExplainer(model, INFRARED)(images, targets)
    with pytest.raises(ValueError, match="unknown explanation method 'gradcam\\+'"):  # before any slow work
        audit_explanations(model, None, [("gradcam+", "layer3")])
    # the identity logits, as a CAM explains them
    with make_explainer(model, INFRARED, "input", "gradient", output="logits") as explainer:
        logit_maps = explainer(images, [IdentityTarget(1)] * 3)
    assert logit_maps.shape == (3, H, W) and not np.allclose(logit_maps, maps)


def test_gradient_explainer_takes_signed_and_output_by_keyword_only(model):
    # a 4th positional argument is CamExplainer's method: here it must not turn on signed maps
    with pytest.raises(TypeError, match="positional"):
        GradientExplainer(model, INFRARED, "input", "gradient")
    with pytest.raises(TypeError, match="positional"):
        make_explainer(model, INFRARED, "input", "gradient", True)
    assert GradientExplainer(model, INFRARED, "input", signed=True, output="logits").signed


def test_gradient_maps_need_gradients_and_say_so(model):
    images = _images(2)
    references = torch.randn(2, model.feature_dim, generator=torch.Generator().manual_seed(4))
    targets = [SimilarityTarget(r) for r in references]
    with GradientExplainer(model, INFRARED) as explainer:
        maps = explainer(images, targets)
    with torch.no_grad():  # turned back on for the backward pass: the same maps
        with GradientExplainer(model, INFRARED) as explainer:
            assert np.array_equal(explainer(images, targets), maps)
        with make_explainer(model, INFRARED, "layer3", "gradcam") as explainer:
            explainer(images, targets)
    with torch.inference_mode():  # nothing made here can take a gradient: one clear error
        with GradientExplainer(model, INFRARED) as explainer:
            with pytest.raises(RuntimeError, match=r"gradient x input needs gradients.*outside inference_mode"):
                explainer(images, targets)
        with pytest.raises(RuntimeError, match=r"needs gradients, and torch.inference_mode\(\) forbids them"):
            gradient_x_input(ModalityWrapper(model, INFRARED), images, targets)
        with make_explainer(model, INFRARED, "layer3", "gradcam") as explainer:
            with pytest.raises(RuntimeError, match=r"gradcam \(a CAM\) needs gradients"):
                explainer(images, targets)
        frozen = images.clone()
    assert frozen.is_inference()
    with GradientExplainer(model, INFRARED) as explainer:  # a tensor made there is fine outside it
        assert np.array_equal(explainer(frozen, targets), maps)
    with make_explainer(model, INFRARED, "layer3", "gradcam") as explainer:  # for a CAM too
        assert np.allclose(explainer(frozen, targets), explainer(images, targets))


def test_settings_are_refused_on_every_model_alike(model):
    """A setting is checked whatever layers the model has: one misspelt or misplaced fails on
    the baseline as on FIENet, and only a known layer the model lacks is left for audits to skip."""
    baseline = build_model(ModelConfig(arch="resnet18", weights=None, pfam=False, mpim=False), 4).eval()
    assert not has_layer(baseline, "pfam3")
    for net in (baseline, model):
        check_settings(net, [("gradcam", "pfam3"), ("hirescam", "mpim"), ("gradient", "input")])
        with pytest.raises(ValueError, match=r"unknown layer 'mpimm'.*'layer1'.*'mpim'\).*or 'input'"):
            check_settings(net, [("gradcam", "mpimm")])
        with pytest.raises(ValueError, match="unknown layer 'mpimm'"):
            audit_explanations(net, None, [("gradcam", "mpimm")])  # before any slow work
        with pytest.raises(ValueError, match="expected layer 'input', got 'pfam3'"):
            check_settings(net, [("gradient", "pfam3")])
        with pytest.raises(ValueError, match=r"'input' is the layer of method 'gradient' \(gradient x input\)"):
            check_settings(net, [("gradcam", "input")])
    with pytest.raises(ValueError, match=r"'input' is the layer of method 'gradient'.*one of \('layer1'"):
        CamExplainer(model, INFRARED, "input", "gradcam")
    with pytest.raises(ValueError, match="unknown layer 'mpimm'"):
        make_explainer(model, INFRARED, "mpimm", "gradcam")


def test_audit_models_checks_every_model_before_auditing_any(model, monkeypatch):
    # No model refuses today what another accepts; a stand-in check does, to test the order.
    baseline = build_model(ModelConfig(arch="resnet18", weights=None, pfam=False, mpim=False), 4).eval()
    audited = []

    def refused_by_fienet(net, settings):
        if net is model:
            raise ValueError("FIENet refuses this setting")

    monkeypatch.setattr(comparison, "check_settings", refused_by_fienet)
    monkeypatch.setattr(comparison, "audit_explanations", lambda net, inputs, settings: audited.append(net))
    with pytest.raises(ValueError, match="FIENet refuses"):
        comparison.audit_models({"baseline": baseline, "FIENet": model}, None, [("gradcam", "layer3")])
    assert audited == []  # the baseline's audit never started
