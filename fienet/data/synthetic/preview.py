"""Render a few synthetic identities in memory: the same person under several infrared mixes.

Rendering draws every random number from ``(seed, pid, camera, index)``, and the identities
depend only on the preset's group settings and the seed, so changing ``ir_luminance_mix``
leaves everything but the infrared intensities in place. That makes the modality gap
visible on its own: one visible image, then the same infrared view at each mix.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from fienet.data.synthetic.config import resolve_config
from fienet.data.synthetic.identities import make_identities
from fienet.data.synthetic.render import render_image


def infrared_mix_views(
    pids: Sequence[int],
    mixes: Sequence[float],
    preset: str = "default",
    seed: int = 0,
    visible_cam: int = 1,
    infrared_cam: int = 3,
    index: int = 0,
) -> list[list[np.ndarray]]:
    """One visible image and the same infrared view at each mix, per identity.

    Args:
        pids: identities of the dataset ``(preset, seed)``.
        mixes: values of ``ir_luminance_mix`` (1: infrared = visible luminance, 0: purely thermal).
        preset, seed: the dataset the identities come from.
        visible_cam, infrared_cam: SYSU-MM01 cameras to render (infrared: 3 or 6).
        index: image number within (identity, camera).

    Returns:
        Per identity, ``[visible, infrared at mixes[0], infrared at mixes[1], ...]``, each
        (H, W, 3) uint8.
    """
    base = resolve_config(preset)
    people = {p.pid: p for p in make_identities(base.n_train, base.n_val, base.n_test, base.group_size,
                                                 base.max_fine_parts, base.ir_polarity_agreement, seed)}
    missing = sorted(set(pids) - set(people))
    if missing:
        raise ValueError(f"pids {missing}: not identities of preset '{preset}' (1..{len(people)})")
    rows = []
    for pid in pids:
        row = [render_image(people[pid], visible_cam, index, base, seed)[0]]
        for mix in mixes:
            row.append(render_image(people[pid], infrared_cam, index, resolve_config(preset, ir_luminance_mix=mix), seed)[0])
        rows.append(row)
    return rows
