"""Explanations: Grad-CAM family maps of FIENet (via pytorch-grad-cam) and gradient x input at the
pixels, where they look, and whether they tell the truth.

- :mod:`~fienet.explain.wrapper`: FIENet as a one-input network of one modality.
- :mod:`~fienet.explain.targets`: similarity, contrastive and identity scores to explain.
- :mod:`~fienet.explain.cam`: :class:`CamExplainer` (method x layer, hooks held in a ``with``
  block).
- :mod:`~fienet.explain.gradients`: :class:`GradientExplainer`, gradient x input at the pixels
  (the first-order estimate of occluding each pixel), with the same interface.
- :mod:`~fienet.explain.methods`: a (method, layer) setting -> its explainer (:func:`make_explainer`).
- :mod:`~fienet.explain.pair`: :func:`explain_pair` (a cross-modal match, both sides).
- :mod:`~fienet.explain.references`: images, embeddings and the references they are scored against.
- :mod:`~fienet.explain.parts`: CAM energy on the synthetic part masks against chance.
- :mod:`~fienet.explain.perturbation`: captum occlusion of the similarity and deletion curves.
- :mod:`~fienet.explain.randomization`: the weight-randomisation sanity check.
- :mod:`~fienet.explain.agreement`: empty maps and rank correlation between maps.
- :mod:`~fienet.explain.audit`: every CAM setting scored five ways on the same images.
- :mod:`~fienet.explain.intervals`: bootstrap intervals of an audit's numbers over its images.
- :mod:`~fienet.explain.contrastive`: match against look-alike, scored on the parts they differ in.
- :mod:`~fienet.explain.comparison`: both audits of several models on the same images, one table.

Draw the maps with :func:`fienet.plots.cam.cam_overlay` and :func:`fienet.plots.cam.cam_grid`.
"""

from fienet.explain.agreement import is_empty, rank_correlation
from fienet.explain.audit import OCCLUSION, Audit, AuditInputs, audit_explanations, audit_summary
from fienet.explain.cam import CAM_METHODS, CamExplainer, final_layer
from fienet.explain.comparison import CONTRASTIVE_COLUMNS, audit_models, audit_table
from fienet.explain.intervals import INTERVAL_COLUMNS, audit_intervals
from fienet.explain.gradients import GRADIENT, GradientExplainer, gradient_x_input
from fienet.explain.methods import METHODS, check_settings, has_layer, layer_cells, make_explainer
from fienet.explain.pair import CamPair, explain_pair
from fienet.explain.contrastive import contrastive_audit, lookalike_pairs
from fienet.explain.parts import attention_on_parts, attention_summary, cam_energy_shares, part_summary
from fienet.explain.perturbation import (SimilarityScore, deletion_auc, deletion_curves, mean_baseline,
                                         occlusion_maps)
from fienet.explain.randomization import randomized_copy
from fienet.explain.references import REFERENCES, embed_images, identity_references, load_images
from fienet.explain.targets import ContrastiveTarget, IdentityTarget, SimilarityTarget
from fienet.explain.wrapper import OUTPUTS, ModalityWrapper, eval_mode

__all__ = [
    "CAM_METHODS",
    "CONTRASTIVE_COLUMNS",
    "GRADIENT",
    "INTERVAL_COLUMNS",
    "METHODS",
    "OCCLUSION",
    "OUTPUTS",
    "REFERENCES",
    "Audit",
    "AuditInputs",
    "CamExplainer",
    "CamPair",
    "ContrastiveTarget",
    "GradientExplainer",
    "IdentityTarget",
    "ModalityWrapper",
    "SimilarityScore",
    "SimilarityTarget",
    "attention_on_parts",
    "attention_summary",
    "audit_explanations",
    "audit_intervals",
    "audit_models",
    "audit_summary",
    "audit_table",
    "cam_energy_shares",
    "check_settings",
    "contrastive_audit",
    "deletion_auc",
    "deletion_curves",
    "embed_images",
    "eval_mode",
    "explain_pair",
    "final_layer",
    "gradient_x_input",
    "has_layer",
    "identity_references",
    "is_empty",
    "layer_cells",
    "load_images",
    "lookalike_pairs",
    "make_explainer",
    "mean_baseline",
    "occlusion_maps",
    "part_summary",
    "randomized_copy",
    "rank_correlation",
]
