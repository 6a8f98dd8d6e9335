"""Explanations: Grad-CAM family maps of FIENet (via pytorch-grad-cam) and where they look.

- :mod:`~fienet.explain.wrapper`: FIENet as a one-input network of one modality.
- :mod:`~fienet.explain.targets`: similarity and identity scores to explain.
- :mod:`~fienet.explain.cam`: :class:`CamExplainer` (method x layer, hooks held in a ``with``
  block) and :func:`explain_pair` (cross-modal match, both sides).
- :mod:`~fienet.explain.parts`: CAM energy on the synthetic part masks against chance.

Draw the maps with :func:`fienet.plots.cam.cam_overlay` and :func:`fienet.plots.cam.cam_grid`.
"""

from fienet.explain.cam import CAM_METHODS, CamExplainer, CamPair, explain_pair
from fienet.explain.parts import REFERENCES, attention_on_parts, attention_summary, cam_energy_shares
from fienet.explain.targets import IdentityTarget, SimilarityTarget
from fienet.explain.wrapper import OUTPUTS, ModalityWrapper, eval_mode

__all__ = [
    "CAM_METHODS",
    "OUTPUTS",
    "REFERENCES",
    "CamExplainer",
    "CamPair",
    "IdentityTarget",
    "ModalityWrapper",
    "SimilarityTarget",
    "attention_on_parts",
    "attention_summary",
    "cam_energy_shares",
    "eval_mode",
    "explain_pair",
]
