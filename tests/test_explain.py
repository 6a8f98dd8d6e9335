"""Explanations on a tiny random FIENet (resnet18, weights=None, 64x32) and a tiny synthetic set:
map shapes and range, target values, hook lifetime, energy shares by hand, attention tables."""

from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from fienet.config import ModelConfig
from fienet.data import SYSUMM01, test_transform
from fienet.data.io import load_image
from fienet.data.records import Record
from fienet.data.synthetic import PART_LABELS, load_identity_table, load_part_mask
from fienet.explain import (CAM_METHODS, CamExplainer, IdentityTarget, ModalityWrapper, SimilarityTarget,
                            attention_on_parts, attention_summary, cam_energy_shares, explain_pair, part_summary)
from fienet.modalities import INFRARED, VISIBLE
from fienet.model import build_model

H, W, NUM_CLASSES = 64, 32, 4

pytestmark = pytest.mark.usefixtures("one_thread")  # model, synthetic_root: tests/conftest.py


def _images(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, H, W, generator=torch.Generator().manual_seed(seed))


def _references(n: int, dim: int = 512, seed: int = 2) -> list[SimilarityTarget]:
    refs = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))
    return [SimilarityTarget(r) for r in refs]


# ---------------------------------------------------------------- maps


@pytest.mark.parametrize("layer", ["layer4", "pfam", "mpim"])
@pytest.mark.parametrize("method", sorted(CAM_METHODS))
def test_maps_are_float32_in_unit_range_at_input_size(model, method, layer):
    with CamExplainer(model, INFRARED, layer=layer, method=method) as ex:
        maps = ex(_images(2), _references(2))
    assert maps.shape == (2, H, W) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() <= 1.0
    # min-max scaled per image: each map spans the range, so none came out empty
    np.testing.assert_allclose(maps.reshape(2, -1).min(1), 0.0, atol=1e-6)
    np.testing.assert_allclose(maps.reshape(2, -1).max(1), 1.0, atol=1e-5)


def test_batch_maps_equal_maps_one_image_at_a_time(model):
    images, targets = _images(3), _references(3)
    with CamExplainer(model, VISIBLE, layer="layer4", method="gradcam++") as ex:
        batch = ex(images, targets)
        single = np.concatenate([ex(images[i:i + 1], targets[i:i + 1]) for i in range(3)])
    np.testing.assert_allclose(batch, single, atol=1e-4)


def test_each_modality_goes_through_its_own_stem(model):
    # Both stems start as copies of one ResNet stem; change the infrared one only.
    changed = copy.deepcopy(model)
    with torch.no_grad():
        for p in changed.backbone.stems[INFRARED].parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=torch.Generator().manual_seed(4)))
    image, target = _images(1), _references(1)
    maps = {}
    for name, net in (("original", model), ("changed", changed)):
        for modality in (VISIBLE, INFRARED):
            with CamExplainer(net, modality, layer="layer4") as ex:
                maps[name, modality] = ex(image, target)
    np.testing.assert_array_equal(maps["original", VISIBLE], maps["changed", VISIBLE])
    assert np.abs(maps["original", INFRARED] - maps["changed", INFRARED]).max() > 1e-2


def test_identity_logit_maps_and_predicted_class_default(model):
    images = _images(2)
    with CamExplainer(model, VISIBLE, layer="mpim", output="logits") as ex:
        predicted = model(visible=images).logits.argmax(1).tolist()
        by_default = ex(images)
        by_target = ex(images, [IdentityTarget(c) for c in predicted])
    assert by_default.shape == (2, H, W)
    np.testing.assert_allclose(by_default, by_target, atol=1e-6)


def test_explainer_works_under_no_grad_and_leaves_no_gradients(model):
    with torch.no_grad(), CamExplainer(model, INFRARED, layer="layer4") as ex:
        maps = ex(_images(1), _references(1))
    assert maps.max() > 0.99
    assert all(p.grad is None for p in model.parameters())


# ---------------------------------------------------------------- targets


def test_similarity_target_equals_cosine_similarity(model):
    images, ref = _images(2), torch.randn(512, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        out = ModalityWrapper(model, INFRARED)(images)  # (2, 512)
        direct = F.cosine_similarity(model.embed(images, INFRARED), ref[None], dim=1)  # (2,)
    target = SimilarityTarget(5.0 * ref)  # the reference's scale must not matter
    assert torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-5)
    assert torch.allclose(torch.stack([target(row) for row in out]), direct, atol=1e-6)
    assert torch.allclose(target(out), direct, atol=1e-6)
    assert torch.allclose(target(3.0 * out[0]), direct[0], atol=1e-6)


def test_own_embedding_as_reference_gives_zero_gradient(model):
    """Why attention_on_parts never explains an image by its own embedding."""
    wrapper = ModalityWrapper(model, VISIBLE)
    x = _images(1).requires_grad_(True)
    embedding = wrapper(x)[0]
    SimilarityTarget(embedding)(embedding).backward(retain_graph=True)
    own = x.grad.abs().max().item()
    x.grad = None
    _references(1)[0](embedding).backward()
    other = x.grad.abs().max().item()
    model.zero_grad(set_to_none=True)
    assert other > 1e-4 and own < 1e-6 * other


def test_identity_target_picks_the_logit_and_checks_its_range():
    logits = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -2.0]])
    assert IdentityTarget(2)(logits[0]).item() == 2.0
    assert IdentityTarget(0)(logits).tolist() == [0.5, 1.5]
    with pytest.raises(ValueError, match="class_index 3 is out of range for 3 identity logits"):
        IdentityTarget(3)(logits[0])
    with pytest.raises(ValueError, match="training label >= 0"):
        IdentityTarget(-1)


def test_similarity_target_rejects_bad_references_and_outputs():
    with pytest.raises(ValueError, match=r"expected a \(D,\) vector"):
        SimilarityTarget(torch.ones(2, 4))
    with pytest.raises(ValueError, match="finite and nonzero"):
        SimilarityTarget(torch.zeros(4))
    with pytest.raises(ValueError, match="D=4 like the reference"):
        SimilarityTarget(torch.ones(4))(torch.ones(5))


# ---------------------------------------------------------------- hooks and errors


def _hook_counts(module: torch.nn.Module) -> tuple[int, int]:
    return len(module._forward_hooks), len(module._backward_hooks)


def test_hooks_exist_only_inside_the_context_and_modes_are_restored(model):
    layer = model.target_layer("mpim")
    model.train()
    try:
        assert _hook_counts(layer) == (0, 0)
        with CamExplainer(model, VISIBLE, layer="mpim") as ex:
            assert len(layer._forward_hooks) > 0
            assert not model.training
            ex(_images(1), _references(1))
        assert _hook_counts(layer) == (0, 0)
        assert model.training and all(m.training for m in model.modules())
    finally:
        model.eval()


def test_errors_inside_the_context_propagate_and_release_hooks(model):
    layer = model.target_layer("layer4")
    with pytest.raises(IndexError):  # pytorch-grad-cam's own context would swallow this one
        with CamExplainer(model, INFRARED, layer="layer4"):
            [][0]
    assert _hook_counts(layer) == (0, 0)
    explainer = CamExplainer(model, INFRARED, layer="layer4")
    with pytest.raises(RuntimeError, match="inside `with CamExplainer"):
        explainer(_images(1), _references(1))
    with explainer as ex, pytest.raises(ValueError, match="got 1 targets for 2 images"):
        ex(_images(2), _references(1))
    with explainer as ex, pytest.raises(ValueError, match="needs one target per image"):
        ex(_images(1))
    assert _hook_counts(layer) == (0, 0)


def test_switched_off_unknown_layer_and_unknown_method_are_clear_errors():
    torch.manual_seed(0)
    baseline = build_model(ModelConfig(arch="resnet18", weights=None, pfam=False, mpim=False), NUM_CLASSES)
    for layer in ("pfam", "mpim"):
        with pytest.raises(ValueError, match=rf"target layer '{layer}' is switched off \(model.{layer}=false\)"):
            CamExplainer(baseline, VISIBLE, layer=layer)
    with pytest.raises(ValueError, match="unknown target layer 'layer5'"):
        CamExplainer(baseline, VISIBLE, layer="layer5")
    with pytest.raises(ValueError, match="unknown CAM method 'scorecam'"):
        CamExplainer(baseline, VISIBLE, layer="layer4", method="scorecam")
    with pytest.raises(ValueError, match="modality must be one of"):
        CamExplainer(baseline, "thermal", layer="layer4")


# ---------------------------------------------------------------- explain_pair


def test_explain_pair_explains_each_side_by_the_other(model):
    query, gallery = _images(1, seed=5)[0], _images(1, seed=6)[0]
    pair = explain_pair(model, query, gallery, INFRARED, VISIBLE, layer="pfam", method="gradcam")
    with torch.no_grad():
        q, g = model.embed(query[None], INFRARED)[0], model.embed(gallery[None], VISIBLE)[0]
    assert pair.similarity == pytest.approx(float(F.cosine_similarity(q, g, dim=0)), abs=1e-6)
    assert pair.query.shape == pair.gallery.shape == (H, W)
    with CamExplainer(model, INFRARED, layer="pfam") as ex:
        expected_query = ex(query[None], [SimilarityTarget(g)])[0]
    with CamExplainer(model, VISIBLE, layer="pfam") as ex:
        expected_gallery = ex(gallery[None], [SimilarityTarget(q)])[0]
    np.testing.assert_allclose(pair.query, expected_query, atol=1e-6)
    np.testing.assert_allclose(pair.gallery, expected_gallery, atol=1e-6)


# ---------------------------------------------------------------- energy shares

# 2 x 4 map and mask; energy per label: 0 -> 1.5, 1 -> 2, 3 -> 3, 4 -> 1.5, 7 -> 2 (total 10)
CAM = np.array([[1.0, 2.0, 3.0, 0.0], [0.5, 0.5, 1.0, 2.0]])
MASK = np.array([[0, 1, 3, 3], [0, 4, 4, 7]], dtype=np.uint8)


def test_energy_shares_by_hand():
    shares = cam_energy_shares(CAM, MASK, {PART_LABELS["torso"], PART_LABELS["pattern"]})
    assert shares["person"] == pytest.approx(0.85)
    assert shares["parts"] == pytest.approx(0.5)
    assert shares["per_part"] == pytest.approx({"torso": 0.3, "pattern": 0.2})
    # a part absent from the mask gets no energy; scaling the map changes nothing
    shares = cam_energy_shares(4 * CAM, MASK, {PART_LABELS["shoes"], PART_LABELS["legs"]})
    assert shares["parts"] == pytest.approx(0.15)
    assert shares["per_part"] == pytest.approx({"legs": 0.15, "shoes": 0.0})


def test_uniform_map_gives_the_area_fractions_and_empty_cases_are_nan():
    chance = cam_energy_shares(np.ones(MASK.shape), MASK, {3, 7})
    assert (chance["person"], chance["parts"]) == pytest.approx((6 / 8, 3 / 8))
    assert math.isnan(cam_energy_shares(CAM, MASK, set())["parts"])
    empty = cam_energy_shares(np.zeros(MASK.shape), MASK, {3})
    assert math.isnan(empty["person"]) and math.isnan(empty["parts"]) and math.isnan(empty["per_part"]["torso"])


def test_energy_shares_reject_bad_inputs():
    with pytest.raises(ValueError, match="same size"):
        cam_energy_shares(CAM[:, :3], MASK, {3})
    with pytest.raises(ValueError, match="non-negative"):
        cam_energy_shares(-CAM, MASK, {3})
    with pytest.raises(ValueError, match=r"expected part labels 1\.\.7"):
        cam_energy_shares(CAM, MASK, {0})
    with pytest.raises(ValueError, match=r"integer part labels 0\.\.7"):
        cam_energy_shares(CAM, MASK + 8, {3})


# ---------------------------------------------------------------- attention on parts


def _test_records(root: Path, identities: int = 2) -> list[Record]:
    """Query and gallery of the first test identities: both modalities of each."""
    query, gallery = SYSUMM01(root).test_split()
    keep = sorted({r.pid for r in query})[:identities]
    return [r for r in query + gallery if r.pid in keep]


def test_attention_on_parts_table(model, synthetic_root):
    records = _test_records(synthetic_root)
    table = attention_on_parts(model, synthetic_root, records, H, W, device="cpu", layer="mpim", method="gradcam")
    assert list(table.columns[:10]) == ["path", "pid", "camid", "modality", "distinguishing_parts", "similarity",
                                        "person", "parts", "person_area", "parts_area"]
    assert {f"part_{p}" for p in ("hair", "torso", "pattern", "legs", "shoes", "accessory")} <= set(table.columns)
    assert len(table) == len(records) and table["path"].tolist() == [r.path for r in records]
    shares = table[["person", "parts", "person_area", "parts_area"]].to_numpy()
    assert np.isfinite(shares).all() and (shares >= 0).all() and (shares <= 1).all()
    assert (table["parts"] <= table["person"] + 1e-9).all()

    # chance levels of one row, recomputed from its mask resized by hand (nearest)
    row = table.iloc[-1]
    mask = np.asarray(load_part_mask(synthetic_root, row["path"]))
    rows_idx = (np.arange(H) + 0.5) * mask.shape[0] / H
    cols_idx = (np.arange(W) + 0.5) * mask.shape[1] / W
    small = mask[rows_idx.astype(int)][:, cols_idx.astype(int)]  # (H, W)
    parts = load_identity_table(synthetic_root).set_index("pid").loc[row["pid"], "distinguishing_parts"]
    assert row["distinguishing_parts"] == ";".join(parts)
    assert row["person_area"] == pytest.approx((small > 0).mean())
    assert row["parts_area"] == pytest.approx(np.isin(small, [PART_LABELS[p] for p in parts]).mean())
    for part in ("hair", "torso", "pattern", "legs", "shoes", "accessory"):
        assert math.isnan(row[f"part_{part}"]) == (part not in parts)
        if part in parts:
            assert row[f"area_{part}"] == pytest.approx((small == PART_LABELS[part]).mean())

    # per part, over the images it distinguishes whose map is not empty; one map is made empty
    # here (the NaN shares attention_on_parts writes for an all-zero map) so that it is left out
    fine = [c for c in table.columns if c.startswith("part_")]
    empty_row = next(i for i, names in enumerate(table["distinguishing_parts"]) if names)
    assert all(math.isnan(v) for v in cam_energy_shares(np.zeros((H, W)), small, [1])["per_part"].values())
    with_empty = table.copy()
    with_empty.loc[empty_row, ["person", "parts", *fine]] = np.nan
    per_part = part_summary(with_empty)
    for part, got in per_part.iterrows():
        has = with_empty["distinguishing_parts"].str.split(";").apply(lambda names: part in names)
        counted = has & with_empty[f"part_{part}"].notna()
        assert got["images"] == counted.sum() > 0
        present = counted & (with_empty[f"area_{part}"] > 0)
        assert got["absent"] == counted.sum() - present.sum()
        assert got["share"] == pytest.approx(with_empty.loc[present, f"part_{part}"].mean(), nan_ok=True)
        assert got["lift"] == pytest.approx(got["share"] / with_empty.loc[present, f"area_{part}"].mean(), nan_ok=True)
    assert set(per_part.index) == {p for names in with_empty.loc[with_empty["person"].notna(), "distinguishing_parts"]
                                   for p in names.split(";") if p}  # fmt: skip
    emptied = with_empty.loc[empty_row, "distinguishing_parts"].split(";")[0]
    assert per_part.loc[emptied, "images"] == part_summary(table).loc[emptied, "images"] - 1

    summary = attention_summary(table)
    assert summary.index.tolist() == [VISIBLE, INFRARED, "all"]
    assert summary.loc["all", "images"] == len(records) and summary.loc["all", "empty_maps"] == 0
    assert summary.loc["all", "parts"] == pytest.approx(table["parts"].mean())
    assert summary.loc["all", "parts_lift"] == pytest.approx(table["parts"].mean() / table["parts_area"].mean())


def test_similarity_column_matches_a_loop_over_identities(model, synthetic_root):
    records = _test_records(synthetic_root, identities=1)
    table = attention_on_parts(model, synthetic_root, records, H, W, layer="layer4")
    same = attention_on_parts(model, synthetic_root, records, H, W, layer="layer4", reference="same-modality")
    transform = test_transform(H, W)
    with torch.no_grad():
        emb = [model.embed(transform(load_image(r.path))[None], r.modality)[0] for r in records]
    for i, r in enumerate(records):
        other = torch.stack([e for e, s in zip(emb, records) if s.modality != r.modality]).mean(0)
        rest = torch.stack([e for j, (e, s) in enumerate(zip(emb, records)) if s.modality == r.modality and j != i])
        assert table["similarity"][i] == pytest.approx(float(F.cosine_similarity(emb[i], other, dim=0)), abs=1e-5)
        assert same["similarity"][i] == pytest.approx(float(F.cosine_similarity(emb[i], rest.mean(0), dim=0)),
                                                      abs=1e-5)
    # the masks and chance levels do not depend on the reference
    pd.testing.assert_series_equal(table["parts_area"], same["parts_area"])


def test_part_summary_leaves_out_images_without_the_part():
    # "accessory" distinguishes all three images; the first identity has none (area 0), so its
    # share of 0 says nothing and is left out; "shoes" is absent from every image it distinguishes
    from fienet.explain.parts import FINE_PARTS

    table = pd.DataFrame({f"{kind}_{p}": np.nan for kind in ("part", "area") for p in FINE_PARTS}, index=range(3))
    table["part_accessory"], table["area_accessory"] = [0.0, 0.3, 0.1], [0.0, 0.1, 0.1]
    table["part_shoes"], table["area_shoes"] = [0.0, np.nan, 0.0], [0.0, 0.02, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 / 0 on the way
        per_part = part_summary(table)
    assert set(per_part.index) == {"shoes", "accessory"}
    acc = per_part.loc["accessory"]
    assert (acc["images"], acc["absent"]) == (3, 1)
    assert acc["share"] == pytest.approx(0.2) and acc["area"] == pytest.approx(0.1) and acc["lift"] == pytest.approx(2.0)
    shoes = per_part.loc["shoes"]
    assert (shoes["images"], shoes["absent"]) == (2, 2)
    assert math.isnan(shoes["share"]) and math.isnan(shoes["area"]) and math.isnan(shoes["lift"])


def test_attention_on_parts_errors_name_what_is_missing(model, synthetic_root, tmp_path):
    records = _test_records(synthetic_root)
    infrared_only = [r for r in records if r.modality == INFRARED]
    with pytest.raises(ValueError, match=rf"no visible image of identity {infrared_only[0].pid} among the records"):
        attention_on_parts(model, synthetic_root, infrared_only, H, W)
    lonely = [r for r in records if r.modality == VISIBLE][:1]
    with pytest.raises(ValueError, match="the only visible image of identity"):
        attention_on_parts(model, synthetic_root, lonely, H, W, reference="same-modality")
    with pytest.raises(ValueError, match="unknown reference 'self'"):
        attention_on_parts(model, synthetic_root, records, H, W, reference="self")
    thermal = Record(records[0].path, records[0].pid, records[0].camid, "thermal")
    with pytest.raises(ValueError, match="modality 'thermal'; expected one of"):
        attention_on_parts(model, synthetic_root, [*records, thermal], H, W)
    stranger = Record(records[0].path, 999, records[0].camid, records[0].modality)
    with pytest.raises(ValueError, match=r"identities.csv: no row for pid\(s\) \[999\]"):
        attention_on_parts(model, synthetic_root, [stranger], H, W)
    with pytest.raises(FileNotFoundError, match="identities.csv: missing"):
        attention_on_parts(model, tmp_path, records, H, W)
    with pytest.raises(ValueError, match=r"unknown explanation method 'gradcam\+'"):
        attention_on_parts(model, synthetic_root, records, H, W, method="gradcam+")
    with pytest.raises(ValueError, match="model is on cpu but device=meta"):
        attention_on_parts(model, synthetic_root, records, H, W, device="meta")
