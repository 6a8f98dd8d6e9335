"""The two modalities by name: vocabulary every layer may import (it imports nothing of fienet).

A modality is the string ``"visible"`` or ``"infrared"``, never 0/1. Infrared covers the thermal
camera of RegDB and the near-infrared cameras of SYSU-MM01 and LLCM alike.
"""

from __future__ import annotations

from typing import Literal

Modality = Literal["visible", "infrared"]
VISIBLE: Modality = "visible"
INFRARED: Modality = "infrared"
MODALITIES: tuple[Modality, Modality] = (VISIBLE, INFRARED)
