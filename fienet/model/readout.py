"""What PFAM and MPIM learnt, read out on real images.

- PFAM: the mean of each aggregation step's sigmoid gate (0: the mid-level map is shut out,
  1: added in full) and the step's relative contribution ``|g * P(source)| / |target|`` (a gate
  near 1 adds little when the projection ``P`` stays small).
- MPIM: the mean share each receptive-field branch gets from the branch attention (the shares
  sum to 1 for every channel), and the module's relative contribution ``|fused| / |input|``.

Both start at exactly zero contribution (see pfam.py and mpim.py); a contribution that stays
near zero after training says the module is barely used.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import Tensor, nn

from fienet.modalities import INFRARED, VISIBLE


def _norm_ratio(added: Tensor, base: Tensor) -> Tensor:
    """(B,) per-image ``|added| / |base|`` over all channels and positions."""
    return added.flatten(1).norm(dim=1) / base.flatten(1).norm(dim=1).clamp_min(1e-12)


@torch.no_grad()
def module_readout(model: nn.Module, visible: Tensor, infrared: Tensor) -> pd.DataFrame:
    """PFAM gate values and MPIM branch shares of a trained model, per modality.

    Args:
        model: a :class:`~fienet.model.fienet.FIENet` (PFAM and/or MPIM switched on), in eval mode.
        visible: (Bv, 3, H, W) visible images, normalised as for the model.
        infrared: (Bi, 3, H, W) infrared images.

    Returns:
        Columns ``module`` ("PFAM" or "MPIM"), ``part`` (e.g. "gate 2->3", "branch d=2",
        "contribution 2->3"), ``modality`` and ``value`` (mean over the images).
    """
    if model.pfam is None and model.mpim is None:
        raise ValueError("module_readout: the model has neither PFAM nor MPIM (model.pfam/mpim=false)")
    rows = []
    for modality, images in ((VISIBLE, visible), (INFRARED, infrared)):
        x = model.backbone.stem(images, modality)  # (B, 64, H/4, W/4)
        _, f2, f3, f4 = model.backbone(x)
        if model.pfam is not None:
            source = f2
            for name, step, target in (("2->3", model.pfam.step23, f3), ("3->4", model.pfam.step34, f4)):
                projected = step.align(source)  # (B, Ct, h, w)
                context = torch.cat([target.mean(dim=(2, 3)), projected.mean(dim=(2, 3))], dim=1)  # (B, 2Ct)
                gate = step.gate(context)  # (B, Ct)
                added = gate[:, :, None, None] * projected
                rows.append(("PFAM", f"gate {name}", modality, gate.mean().item()))
                rows.append(("PFAM", f"contribution {name}", modality, _norm_ratio(added, target).mean().item()))
                source = target + added  # the next step aggregates the enriched map
            f4 = source
        if model.mpim is not None:
            m = model.mpim
            reduced = m.reduce(f4)  # (B, W, h, w)
            views = torch.stack([branch(reduced) for branch in m.branches], dim=1)  # (B, K, W, h, w)
            b, k, w = views.shape[:3]
            weights = m.attention(m.squeeze(views.sum(dim=1).mean(dim=(2, 3)))).reshape(b, k, w).softmax(dim=1)
            for i, d in enumerate(m.dilations):
                rows.append(("MPIM", f"branch d={d}", modality, weights[:, i].mean().item()))
            fused = m.fuse((views * weights[..., None, None]).flatten(1, 2))  # (B, C, h, w)
            rows.append(("MPIM", "contribution", modality, _norm_ratio(fused, f4).mean().item()))
    return pd.DataFrame(rows, columns=["module", "part", "modality", "value"])


__all__ = ["module_readout"]
