"""IGCL, the Identity-Guided Center Loss: compact identities across modalities, separated centres.

The FIENet paper describes IGCL only as supervising the identity representation through feature
centres "with intra-identity and inter-identity information". fienet's reading, per batch:

* Centres. For every identity ``u`` in the batch: its visible centre ``c_u^V`` and infrared
  centre ``c_u^I`` (means of its features of that modality) and its joint centre
  ``c_u = (c_u^V + c_u^I) / 2``, the midpoint, so both modalities weigh the same whatever their
  image counts. An identity seen in only one modality has that modality's centre as its joint
  centre.
* Intra-identity term: the mean distance of each feature to its identity's joint centre (as
  the center loss, Wen et al. ECCV 2016) plus the mean distance between the visible and the
  infrared centre of each identity seen in both modalities (as the hetero-center loss, Zhu et
  al., Neurocomputing 2020). Identities seen in one modality only have no pair of centres to
  pull together and take part in the first part only.
* Inter-identity term: ``mean_u relu(margin - min_{w != u} d(c_u, c_w))``, a hinge that pushes
  every joint centre at least ``margin`` away from the nearest other identity's centre and
  stops pushing once it is far enough.

Distances are Euclidean between L2-normalised features. On the unit sphere the distances are
bounded by 2 and do not change when the network simply scales its features up, so the margin
means the same thing throughout training; unnormalised, the hinge could be met by inflating
feature norms. Distances are not squared, so all terms share the unit of the margin and a
feature far from its centre does not dominate the batch. Centres are batch statistics, not
learnt parameters: they need no extra optimiser state and follow the features as they move.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from fienet.losses.distances import euclidean_distances, row_distances


class IdentityCentres(NamedTuple):
    """Per-identity centres of one batch; U identities, rows ordered as ``labels.unique()``.

    Attributes:
        visible: (U, D) mean visible feature (0 where the identity has no visible image).
        infrared: (U, D) mean infrared feature (0 where it has no infrared image).
        joint: (U, D) midpoint of the available modality centres.
        has_visible: (U,) bool.
        has_infrared: (U,) bool.
        index: (N,) row of each sample's identity in the centre matrices.
    """

    visible: Tensor
    infrared: Tensor
    joint: Tensor
    has_visible: Tensor
    has_infrared: Tensor
    index: Tensor


def identity_centres(feats: Tensor, labels: Tensor, is_infrared: Tensor) -> IdentityCentres:
    """Visible, infrared and joint centre of every identity of the batch.

    Args:
        feats: (N, D) features (already normalised if wanted).
        labels: (N,) identity labels.
        is_infrared: (N,) bool, True for infrared images.

    Returns:
        :class:`IdentityCentres`.
    """
    _, index = labels.unique(return_inverse=True)  # index: (N,) in 0..U-1
    member = F.one_hot(index).T.to(feats.dtype)  # (U, N)
    ir = is_infrared.to(feats.dtype)[None, :]  # (1, N)
    member_ir, member_vis = member * ir, member * (1 - ir)  # (U, N) each
    n_ir, n_vis = member_ir.sum(1), member_vis.sum(1)  # (U,)
    visible = member_vis @ feats / n_vis.clamp(min=1)[:, None]  # (U, D)
    infrared = member_ir @ feats / n_ir.clamp(min=1)[:, None]  # (U, D)
    has_visible, has_infrared = n_vis > 0, n_ir > 0
    # An absent modality's centre is 0, so the sum over available centres / their count is the midpoint.
    joint = (visible + infrared) / (has_visible.to(feats.dtype) + has_infrared.to(feats.dtype))[:, None]  # (U, D)
    return IdentityCentres(visible, infrared, joint, has_visible, has_infrared, index)


def igcl_intra(feats: Tensor, centres: IdentityCentres) -> Tensor:
    """Intra-identity term: feature-to-joint-centre plus visible-to-infrared-centre distances.

    Args:
        feats: (N, D) the features the centres were computed from.
        centres: their :class:`IdentityCentres`.

    Returns:
        Scalar: mean feature-to-centre distance + mean cross-modality centre distance (the
        latter 0 when no identity of the batch is seen in both modalities).
    """
    to_centre = row_distances(feats, centres.joint[centres.index]).mean()
    both = centres.has_visible & centres.has_infrared  # (U,)
    if not bool(both.any()):
        return to_centre
    between = row_distances(centres.visible[both], centres.infrared[both]).mean()
    return to_centre + between


def igcl_inter(centres: IdentityCentres, margin: float) -> Tensor:
    """Inter-identity term: hinge on the distance from each joint centre to the nearest other one.

    Args:
        centres: :class:`IdentityCentres` of at least two identities.
        margin: wanted minimum distance between identity centres.

    Returns:
        Scalar ``mean_u relu(margin - min_{w != u} d(c_u, c_w))``.
    """
    u = centres.joint.shape[0]
    if u < 2:
        raise ValueError(
            "IGCL inter-identity term needs at least two identities in the batch, got 1; "
            "sample more identities per batch or set loss.igcl_inter_weight=0"
        )
    dist = euclidean_distances(centres.joint, centres.joint)  # (U, U)
    eye = torch.eye(u, dtype=torch.bool, device=dist.device)
    nearest = dist.masked_fill(eye, float("inf")).amin(1)  # (U,)
    return F.relu(margin - nearest).mean()


def igcl_terms(
    feats: Tensor, labels: Tensor, is_infrared: Tensor, margin: float = 0.3, with_inter: bool = True
) -> tuple[Tensor, Tensor | None]:
    """The intra- and inter-identity terms of IGCL (inter is None when ``with_inter`` is False).

    Args:
        feats: (N, D) pooled features; L2-normalised here.
        labels: (N,) identity labels.
        is_infrared: (N,) bool.
        margin: inter-identity margin (on the unit sphere, so within (0, 2]).
        with_inter: compute the inter-identity term.
    """
    if not (feats.shape[0] == labels.shape[0] == is_infrared.shape[0]):
        raise ValueError(
            f"IGCL: feats {tuple(feats.shape)}, labels {tuple(labels.shape)} and is_infrared "
            f"{tuple(is_infrared.shape)} must have the same number of rows"
        )
    feats = F.normalize(feats.float(), dim=1)  # (N, D)
    centres = identity_centres(feats, labels, is_infrared.bool())
    intra = igcl_intra(feats, centres)
    inter = igcl_inter(centres, margin) if with_inter else None
    return intra, inter


def igcl_loss(
    feats: Tensor, labels: Tensor, is_infrared: Tensor, margin: float = 0.3, inter_weight: float = 1.0
) -> Tensor:
    """Identity-Guided Center Loss: ``intra + inter_weight * inter`` (see the module docstring).

    Args:
        feats: (N, D) pooled features (before the BNNeck); L2-normalised inside.
        labels: (N,) identity labels.
        is_infrared: (N,) bool, True for infrared images.
        margin: inter-identity margin between joint centres on the unit sphere.
        inter_weight: weight of the inter-identity term (0 skips it).

    Returns:
        Scalar loss (float32).
    """
    intra, inter = igcl_terms(feats, labels, is_infrared, margin, with_inter=inter_weight > 0)
    return intra if inter is None else intra + inter_weight * inter
