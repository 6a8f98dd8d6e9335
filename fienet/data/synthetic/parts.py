"""Part labels of the synthetic masks and the materials the renderer paints with.

A *part label* is what the written mask stores (one uint8 per pixel). A *material* is finer: the
renderer needs to know that a bare forearm belongs to the torso part but is coloured like skin,
so it draws into a material map and turns it into colours and labels with two lookup tables.
"""

from __future__ import annotations

import numpy as np

PART_LABELS: dict[str, int] = {
    "background": 0,
    "head": 1,
    "hair": 2,
    "torso": 3,
    "legs": 4,
    "shoes": 5,
    "accessory": 6,
    "pattern": 7,
}
PART_NAMES: tuple[str, ...] = tuple(PART_LABELS)  # index -> name

# Materials, in the order of the lookup tables below. 0 is background so that a freshly
# allocated material map is "nothing drawn yet".
BACKGROUND, FACE, EYES, HAIR, TOP, ARM_SKIN, BOTTOM, LEG_SKIN, SHOES, ACCESSORY, PATTERN = range(11)
N_MATERIALS = 11

# Which body part each material belongs to: bare skin takes the part of the limb it is on.
MATERIAL_PART: np.ndarray = np.array(
    [
        PART_LABELS["background"],
        PART_LABELS["head"],  # FACE
        PART_LABELS["head"],  # EYES
        PART_LABELS["hair"],  # HAIR
        PART_LABELS["torso"],  # TOP
        PART_LABELS["torso"],  # ARM_SKIN
        PART_LABELS["legs"],  # BOTTOM
        PART_LABELS["legs"],  # LEG_SKIN
        PART_LABELS["shoes"],  # SHOES
        PART_LABELS["accessory"],  # ACCESSORY
        PART_LABELS["pattern"],  # PATTERN
    ],
    dtype=np.uint8,
)
