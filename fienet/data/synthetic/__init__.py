"""Procedural visible-infrared pedestrians in the SYSU-MM01 layout: the package's default data.

``generate_synthetic(out, preset, seed)`` writes the dataset; ``load_part_mask`` and
``load_identity_table`` read back what only synthetic data has, and :class:`PartAnnotations`
bundles them for explanations. See docs/synthetic_data.md.
"""

from fienet.data.synthetic.annotations import PartAnnotations
from fienet.data.synthetic.config import PRESETS, SynthConfig, resolve_config
from fienet.data.synthetic.generate import ensure_synthetic, generate_synthetic
from fienet.data.synthetic.layout import load_identity_table, load_part_mask
from fienet.data.synthetic.parts import PART_LABELS
from fienet.data.synthetic.preview import infrared_mix_views

__all__ = [
    "PART_LABELS",
    "PRESETS",
    "PartAnnotations",
    "SynthConfig",
    "ensure_synthetic",
    "generate_synthetic",
    "infrared_mix_views",
    "load_identity_table",
    "load_part_mask",
    "resolve_config",
]
