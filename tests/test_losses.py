"""Losses against plain loops written for clarity, hand-computed values, and error messages."""

from __future__ import annotations

import math

import pytest
import torch

from fienet.config import LossConfig
from fienet.losses import (
    FIENetCriterion,
    euclidean_distances,
    identity_centres,
    identity_loss,
    igcl_loss,
    igcl_terms,
    triplet_hard_loss,
    triplet_wrt_loss,
)
from fienet.model.head import FIENetOutput


def _batch(seed: int = 0, n_ids: int = 3, per_modality: int = 2, dim: int = 5):
    """Features of ``n_ids`` identities with ``per_modality`` visible and infrared images each."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n_ids).repeat_interleave(per_modality).repeat(2)  # [visible; infrared]
    is_ir = torch.arange(len(labels)) >= len(labels) // 2
    feats = torch.randn(len(labels), dim, generator=g)
    return feats, labels, is_ir


# ---------------------------------------------------------------- distances, identity loss


def test_euclidean_distances_match_norm_of_differences():
    x, y = torch.randn(4, 3), torch.randn(5, 3)
    expected = torch.tensor([[float((a - b).norm()) for b in y] for a in x])
    torch.testing.assert_close(euclidean_distances(x, y), expected, atol=1e-5, rtol=1e-5)


def test_identity_loss_matches_loop_with_smoothing():
    logits, labels, eps = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 1, 0]), 0.1
    total = 0.0
    for row, y in zip(logits, labels):
        logp = torch.log_softmax(row, 0)
        total += -(1 - eps) * logp[y] - eps / 4 * logp.sum()
    torch.testing.assert_close(identity_loss(logits, labels, eps), total / 6)


def test_identity_loss_of_uniform_logits_is_log_num_classes():
    assert identity_loss(torch.zeros(3, 7), torch.tensor([0, 3, 6]), 0.1).item() == pytest.approx(math.log(7))


def test_identity_loss_rejects_labels_outside_the_classifier():
    with pytest.raises(ValueError, match=r"0\.\.3 \(the classifier has 4 classes\)"):
        identity_loss(torch.zeros(2, 4), torch.tensor([1, 4]))


# ---------------------------------------------------------------- triplet losses


def _loop_hard(feats, labels, margin):
    losses = []
    for a in range(len(feats)):
        pos = [float((feats[a] - feats[p]).norm()) for p in range(len(feats)) if p != a and labels[p] == labels[a]]
        neg = [float((feats[a] - feats[n]).norm()) for n in range(len(feats)) if labels[n] != labels[a]]
        if pos and neg:
            losses.append(max(0.0, max(pos) - min(neg) + margin))
    return sum(losses) / len(losses)


def _loop_wrt(feats, labels):
    losses = []
    for a in range(len(feats)):
        pos = [float((feats[a] - feats[p]).norm()) for p in range(len(feats)) if p != a and labels[p] == labels[a]]
        neg = [float((feats[a] - feats[n]).norm()) for n in range(len(feats)) if labels[n] != labels[a]]
        if not (pos and neg):
            continue
        w_pos = [math.exp(d) for d in pos]
        w_neg = [math.exp(-d) for d in neg]
        far = sum(w * d for w, d in zip(w_pos, pos)) / sum(w_pos)
        near = sum(w * d for w, d in zip(w_neg, neg)) / sum(w_neg)
        losses.append(math.log1p(math.exp(far - near)))
    return sum(losses) / len(losses)


def test_triplet_hard_hand_computed():
    # 1-D points 0, 1 (id 0) and 3, 7 (id 1), margin 0.5: only anchor 3 violates, by 4 - 2 + 0.5.
    feats, labels = torch.tensor([[0.0], [1.0], [3.0], [7.0]]), torch.tensor([0, 0, 1, 1])
    assert triplet_hard_loss(feats, labels, 0.5).item() == pytest.approx(2.5 / 4, abs=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_triplet_losses_match_loops(seed):
    feats, labels, _ = _batch(seed)
    # an identity with a single image: it is a negative for others but never an anchor
    feats, labels = torch.cat([feats, torch.randn(1, 5)]), torch.cat([labels, torch.tensor([9])])
    assert triplet_hard_loss(feats, labels, 0.3).item() == pytest.approx(_loop_hard(feats, labels, 0.3), abs=1e-5)
    assert triplet_wrt_loss(feats, labels).item() == pytest.approx(_loop_wrt(feats, labels), abs=1e-5)


def test_triplet_losses_need_two_identities():
    with pytest.raises(ValueError, match="no anchor of the batch has both a positive and a negative"):
        triplet_hard_loss(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="no anchor"):
        triplet_wrt_loss(torch.randn(3, 3), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize("loss", [lambda f, y: triplet_hard_loss(f, y, 5.0), triplet_wrt_loss])
def test_triplet_gradients_flow(loss):
    feats, labels, _ = _batch(2)
    feats.requires_grad_(True)
    loss(feats, labels).backward()
    assert torch.isfinite(feats.grad).all() and feats.grad.abs().sum() > 0


# ---------------------------------------------------------------- IGCL


def _loop_igcl(feats, labels, is_ir, margin, inter_weight):
    feats = [f / f.norm() for f in feats]
    joint, to_centre, between = {}, [], []
    for u in sorted(set(labels.tolist())):
        vis = [f for f, y, ir in zip(feats, labels, is_ir) if y == u and not ir]
        inf = [f for f, y, ir in zip(feats, labels, is_ir) if y == u and ir]
        centres = [sum(m) / len(m) for m in (vis, inf) if m]
        joint[u] = sum(centres) / len(centres)
        if vis and inf:
            between.append(float((centres[0] - centres[1]).norm()))
    for f, y in zip(feats, labels.tolist()):
        to_centre.append(float((f - joint[y]).norm()))
    intra = sum(to_centre) / len(to_centre) + (sum(between) / len(between) if between else 0.0)
    hinges = [
        max(0.0, margin - min(float((joint[u] - joint[w]).norm()) for w in joint if w != u)) for u in joint
    ]
    return intra + inter_weight * sum(hinges) / len(hinges)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_igcl_matches_loop(seed):
    feats, labels, is_ir = _batch(seed, n_ids=4)
    # identity 7 only visible, identity 8 only infrared: no centre pair, still centres and negatives
    feats = torch.cat([feats, torch.randn(3, 5, generator=torch.Generator().manual_seed(seed + 10))])
    labels = torch.cat([labels, torch.tensor([7, 7, 8])])
    is_ir = torch.cat([is_ir, torch.tensor([False, False, True])])
    margin = 1.5  # large enough that some hinges are active on random features
    expected = _loop_igcl(feats, labels, is_ir, margin, 0.7)
    assert igcl_loss(feats, labels, is_ir, margin, 0.7).item() == pytest.approx(expected, abs=1e-5)


def test_igcl_hand_computed():
    # id 0: visible (1,0), infrared (0,1); id 1: visible (-1,0), infrared (0,-1).
    feats = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    labels, is_ir = torch.tensor([0, 1, 0, 1]), torch.tensor([False, False, True, True])
    intra, inter = igcl_terms(feats, labels, is_ir, margin=2.0)
    # joint centres (0.5, 0.5), (-0.5, -0.5): every feature is sqrt(0.5) from its centre, the
    # modality centres sqrt(2) apart, the joint centres sqrt(2) apart -> hinge 2 - sqrt(2)
    assert intra.item() == pytest.approx(math.sqrt(0.5) + math.sqrt(2), abs=1e-5)
    assert inter.item() == pytest.approx(2 - math.sqrt(2), abs=1e-5)
    assert igcl_terms(feats, labels, is_ir, margin=0.3)[1].item() == pytest.approx(0.0, abs=1e-6)


def test_identity_centres_of_single_modality_identity_is_its_modality_centre():
    feats = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    c = identity_centres(feats, torch.tensor([4, 4, 5]), torch.tensor([False, False, True]))
    torch.testing.assert_close(c.joint, torch.tensor([[2.0, 0.0], [0.0, 2.0]]))
    assert c.has_visible.tolist() == [True, False] and c.has_infrared.tolist() == [False, True]


def test_igcl_near_zero_when_compact_and_separated_and_grows_otherwise():
    labels = torch.arange(4).repeat_interleave(3).repeat(2)  # 4 ids x 3 images x 2 modalities
    is_ir = torch.arange(24) >= 12
    compact = torch.eye(8)[labels] * 5 + 1e-4 * torch.randn(24, 8, generator=torch.Generator().manual_seed(0))
    assert igcl_loss(compact, labels, is_ir, 0.3).item() < 1e-3
    spread = compact + 0.5 * torch.randn(24, 8, generator=torch.Generator().manual_seed(1))
    shifted = compact.clone()
    shifted[is_ir] += 3.0 * torch.eye(8)[7]  # infrared centres drift away from visible ones
    collapsed = torch.ones(24, 8)  # every identity on one point: the hinge is at its maximum
    assert igcl_loss(spread, labels, is_ir, 0.3).item() > 0.1
    assert igcl_loss(shifted, labels, is_ir, 0.3).item() > 0.5
    assert igcl_loss(collapsed, labels, is_ir, 0.3, inter_weight=2.0).item() == pytest.approx(0.6, abs=1e-4)


def test_igcl_is_scale_free_and_gradients_flow():
    feats, labels, is_ir = _batch(3, n_ids=3)
    base = igcl_loss(feats, labels, is_ir, 1.0)
    assert igcl_loss(10 * feats, labels, is_ir, 1.0).item() == pytest.approx(base.item(), abs=1e-5)
    feats.requires_grad_(True)
    igcl_loss(feats, labels, is_ir, 1.5).backward()
    assert torch.isfinite(feats.grad).all() and feats.grad.abs().sum() > 0


def test_igcl_single_identity():
    feats, labels, is_ir = torch.randn(4, 3), torch.zeros(4, dtype=torch.long), torch.tensor([0, 0, 1, 1]).bool()
    with pytest.raises(ValueError, match="at least two identities"):
        igcl_loss(feats, labels, is_ir, 0.3, inter_weight=1.0)
    assert torch.isfinite(igcl_loss(feats, labels, is_ir, 0.3, inter_weight=0.0))


# ---------------------------------------------------------------- criterion


def _output(seed: int = 0, num_classes: int = 3):
    feats, labels, is_ir = _batch(seed, n_ids=num_classes)
    logits = torch.randn(len(labels), num_classes, generator=torch.Generator().manual_seed(seed))
    return FIENetOutput(pooled=feats, bn=feats, logits=logits), labels, is_ir


def test_criterion_total_is_weighted_sum_of_parts():
    cfg = LossConfig(id_weight=0.5, triplet="hard", triplet_weight=2.0, igcl_weight=0.25, igcl_margin=1.5)
    out, labels, is_ir = _output()
    total, parts = FIENetCriterion(cfg)(out, labels, is_ir)
    assert parts["id"] == pytest.approx(identity_loss(out.logits, labels, cfg.label_smoothing).item())
    assert parts["triplet"] == pytest.approx(triplet_hard_loss(out.pooled, labels, cfg.triplet_margin).item())
    assert parts["igcl"] == pytest.approx(igcl_loss(out.pooled, labels, is_ir, 1.5, 1.0).item(), abs=1e-6)
    assert parts["igcl"] == pytest.approx(parts["igcl_intra"] + parts["igcl_inter"], abs=1e-6)
    assert total.item() == pytest.approx(0.5 * parts["id"] + 2.0 * parts["triplet"] + 0.25 * parts["igcl"], abs=1e-5)


def test_criterion_skips_losses_that_are_off():
    out, labels, is_ir = _output()
    _, parts = FIENetCriterion(LossConfig(triplet="none", igcl_weight=0.0))(out, labels, is_ir)
    assert set(parts) == {"id"}
    _, parts = FIENetCriterion(LossConfig(id_weight=0.0, triplet_weight=0.0, igcl_inter_weight=0.0))(out, labels, is_ir)
    assert set(parts) == {"igcl", "igcl_intra"}


def test_criterion_rejects_bad_config_and_shapes():
    with pytest.raises(ValueError, match="loss.triplet must be one of"):
        FIENetCriterion(LossConfig(triplet="soft"))
    with pytest.raises(ValueError, match="every loss is switched off"):
        FIENetCriterion(LossConfig(id_weight=0.0, triplet="none", igcl_weight=0.0))
    out, labels, is_ir = _output()
    with pytest.raises(ValueError, match="one entry per image"):
        FIENetCriterion(LossConfig())(out, labels[:-1], is_ir)


def test_criterion_runs_in_float32_under_autocast():
    out, labels, is_ir = _output()
    reference, _ = FIENetCriterion(LossConfig())(out, labels, is_ir)
    low = FIENetOutput(*(t.to(torch.bfloat16) for t in out))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, _ = FIENetCriterion(LossConfig())(low, labels, is_ir)
    assert total.dtype == torch.float32
    assert total.item() == pytest.approx(reference.item(), rel=2e-2)
