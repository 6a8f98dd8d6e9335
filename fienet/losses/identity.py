"""Identity (classification) loss: cross-entropy with label smoothing."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def identity_loss(logits: Tensor, labels: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of the identity logits, with label smoothing (Szegedy et al., as in BoT).

    Args:
        logits: (N, num_classes) identity logits.
        labels: (N,) training labels in ``0 .. num_classes - 1``.
        label_smoothing: mass spread uniformly over all classes, in [0, 1).

    Returns:
        Scalar mean loss (float32).
    """
    num_classes = logits.shape[1]
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"identity labels must lie in 0..{num_classes - 1} (the classifier has {num_classes} classes), "
            f"got labels in {int(labels.min())}..{int(labels.max())}"
        )
    return F.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)
