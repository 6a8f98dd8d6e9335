"""What a CAM explains: a scalar score per image, computed from the wrapped model's output.

pytorch-grad-cam calls a target once per image with that image's output row and
back-propagates the returned score. Re-identification has no class to explain at test time (test
identities are not among the classifier's), so the main target here is a *similarity*: how much
an image's embedding agrees with a reference embedding, e.g. an infrared query explained by its
match in the visible gallery.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import Tensor

Target = Callable[[Tensor], Tensor]  # one image's output row -> the scalar score to explain


class SimilarityTarget:
    """Score an image by the cosine similarity of its embedding to a fixed reference.

    Do not use an image's own embedding as its reference: at the reference the cosine is at its
    maximum, 1, so its gradient is exactly zero and every gradient-based CAM comes out empty.
    Use the embedding of *another* image (the match being explained) or a mean over other images.

    Args:
        reference_embedding: (D,) reference; any nonzero scale (it is normalised here), detached.

    Shapes:
        model_output: (D,) one image's embedding -> () score; or (B, D) -> (B,).
    """

    def __init__(self, reference_embedding: Tensor) -> None:
        if reference_embedding.dim() != 1 or reference_embedding.numel() == 0:
            raise ValueError(
                f"reference_embedding has shape {tuple(reference_embedding.shape)}; expected a (D,) vector"
            )
        reference = reference_embedding.detach().float()
        if not torch.isfinite(reference).all() or not reference.norm() > 0:
            raise ValueError("reference_embedding must be finite and nonzero to define a cosine similarity")
        self.reference = F.normalize(reference, dim=0)  # (D,)

    def __call__(self, model_output: Tensor) -> Tensor:
        if model_output.shape[-1] != self.reference.numel() or model_output.dim() not in (1, 2):
            raise ValueError(
                f"model output has shape {tuple(model_output.shape)}; expected (D,) or (B, D) embeddings "
                f"with D={self.reference.numel()} like the reference (explain with output='embedding')"
            )
        reference = self.reference.to(model_output.device)
        return (F.normalize(model_output.float(), dim=-1) * reference).sum(dim=-1)

    def __repr__(self) -> str:
        return f"SimilarityTarget(dim={self.reference.numel()})"


class ContrastiveTarget:
    """Score an image by how much more it resembles reference A than look-alike B.

    ``cos(e, A) - cos(e, B)``: the evidence for A *against* B. Explaining it answers "why this
    person rather than the look-alike?"; what both references share (colours, body shape)
    cancels, so the map can only point at what differs.

    Args:
        reference_a: (D,) embedding of the match (any nonzero scale).
        reference_b: (D,) embedding of the look-alike.

    Shapes:
        model_output: (D,) -> (); or (B, D) -> (B,).
    """

    def __init__(self, reference_a: Tensor, reference_b: Tensor) -> None:
        self.a = SimilarityTarget(reference_a)
        self.b = SimilarityTarget(reference_b)
        if self.a.reference.numel() != self.b.reference.numel():
            raise ValueError(
                f"references have {self.a.reference.numel()} and {self.b.reference.numel()} dimensions; expected the same"
            )

    def __call__(self, model_output: Tensor) -> Tensor:
        return self.a(model_output) - self.b(model_output)

    def __repr__(self) -> str:
        return f"ContrastiveTarget(dim={self.a.reference.numel()})"


class IdentityTarget(ClassifierOutputTarget):
    """Score an image by one identity logit (explain with ``output="logits"``).

    Args:
        class_index: contiguous training label 0..num_classes-1 (not the dataset's pid); only
            training identities have a logit.

    Shapes:
        model_output: (num_classes,) -> (); or (B, num_classes) -> (B,).
    """

    def __init__(self, class_index: int) -> None:
        if isinstance(class_index, bool) or not isinstance(class_index, int) or class_index < 0:
            raise ValueError(f"class_index must be a training label >= 0, got {class_index!r}")
        super().__init__(class_index)

    def __call__(self, model_output: Tensor) -> Tensor:
        if model_output.shape[-1] <= self.category:
            raise ValueError(
                f"class_index {self.category} is out of range for {model_output.shape[-1]} identity logits; "
                "expected a training label 0..num_classes-1 (explain with output='logits')"
            )
        return super().__call__(model_output)

    def __repr__(self) -> str:
        return f"IdentityTarget({self.category})"


__all__ = ["ContrastiveTarget", "IdentityTarget", "SimilarityTarget", "Target"]
