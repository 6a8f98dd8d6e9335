"""A match explained from both sides: the query by its similarity to the gallery image, and back."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from fienet.explain.methods import make_explainer
from fienet.explain.targets import SimilarityTarget
from fienet.explain.wrapper import eval_mode
from fienet.modalities import Modality
from fienet.model.fienet import FIENet


class CamPair(NamedTuple):
    """Both sides of an explained match.

    Attributes:
        query: (H, W) map of the query, scored by its similarity to the gallery image.
        gallery: (H', W') map of the gallery image, scored by its similarity to the query.
        similarity: cosine similarity of the two embeddings.
    """

    query: np.ndarray
    gallery: np.ndarray
    similarity: float


def explain_pair(
    model: FIENet,
    query_image: Tensor,
    gallery_image: Tensor,
    query_modality: Modality,
    gallery_modality: Modality,
    layer: str = "mpim",
    method: str = "gradcam",
) -> CamPair:
    """Cross-modal explanation of a match: each image explained by its similarity to the other.

    The query map shows what in the query makes it resemble this gallery image, and the other
    way round, so the two maps of a correct match should light up corresponding body parts.

    Args:
        model: FIENet on the device to compute on.
        query_image: (3, H, W) normalised image (``test_transform``).
        gallery_image: (3, H', W') normalised image.
        query_modality, gallery_modality: ``"visible"`` or ``"infrared"``.
        layer, method: a setting of :func:`~fienet.explain.methods.make_explainer`.

    Returns:
        :class:`CamPair` with the two maps at their input sizes and the similarity.
    """
    for name, image in (("query_image", query_image), ("gallery_image", gallery_image)):
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(f"{name} has shape {tuple(image.shape)}; expected one (3, H, W) image")
    device = next(model.parameters()).device
    with torch.no_grad(), eval_mode(model):
        query = model.embed(query_image[None].to(device), query_modality)[0]  # (D,)
        gallery = model.embed(gallery_image[None].to(device), gallery_modality)[0]  # (D,)
    maps = []
    sides = ((query_image, query_modality, gallery), (gallery_image, gallery_modality, query))
    for image, modality, reference in sides:
        with make_explainer(model, modality, layer, method) as explainer:
            maps.append(explainer(image[None], [SimilarityTarget(reference)])[0])  # (H, W)
    return CamPair(maps[0], maps[1], float(query @ gallery))


__all__ = ["CamPair", "explain_pair"]
