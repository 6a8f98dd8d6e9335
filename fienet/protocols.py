"""The evaluation protocols of the field, defined once: names, settings, trials.

A protocol is what a paper table reports for a family of datasets:

- ``"sysu"`` (SYSU-MM01 and data in its layout): infrared queries against a visible gallery;
  all-search (gallery cameras 1, 2, 4, 5) and indoor-search (cameras 1, 2), single-shot
  (one gallery image per identity and camera) and multi-shot (ten), gallery trials 0..9.
  Filter: for a camera-3 query every camera-2 image is dropped (the two share a room).
- ``"regdb"``: visible-to-thermal and thermal-to-visible over every test image of one trial;
  each of RegDB's ten trials has its own train/test identity split, so a model is trained and
  tested per trial. Filter: none.
- ``"llcm"``: infrared-to-visible and visible-to-infrared, single-shot galleries, trials 0..9.
  Filter: gallery images of the query's identity seen by the query's camera are dropped.
- ``"unfiltered"``: no dataset's protocol, the plain rule for data that is no benchmark (the
  held-out identities validation ranks): nothing dropped, CMC on the plain ranking, as RegDB.

The filters are computed by :func:`fienet.evaluation.metrics.evaluate`; how a reader draws the
query and gallery of a setting and trial is the reader's ``test_split`` (see ``fienet/data``).
This module imports nothing of fienet, so readers and evaluation both build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

SYSU = "sysu"
REGDB = "regdb"
LLCM = "llcm"
UNFILTERED = "unfiltered"
PROTOCOLS = (SYSU, REGDB, LLCM, UNFILTERED)  # filtering rules ``evaluate`` knows
PLAIN_RANKING = (REGDB, UNFILTERED)  # drop no gallery image; CMC on the plain ranking, not deduplicated
GALLERY_TRIALS = tuple(range(10))  # the gallery draws SYSU-MM01 and LLCM average
REGDB_TRIALS = tuple(range(1, 11))  # RegDB's ten train/test splits
MULTI_SHOT = 10  # gallery images per identity and camera in multi-shot


@dataclass(frozen=True)
class Setting:
    """One protocol setting: its name in tables, the reader's ``test_split`` keywords, its trials."""

    name: str
    split_kwargs: dict[str, Any]
    trials: tuple[int, ...]


def sysu_settings(shots: Sequence[int] = (1, MULTI_SHOT)) -> list[Setting]:
    """All- and indoor-search for each gallery size in ``shots``, trials 0..9."""
    return [
        Setting(f"{mode}-search {'single' if s == 1 else 'multi'}-shot", {"mode": mode, "shots": s}, GALLERY_TRIALS)
        for s in shots
        for mode in ("all", "indoor")
    ]


def regdb_settings(trial: int) -> list[Setting]:
    """Both directions of RegDB trial ``trial`` (the one the model was trained on)."""
    return [
        Setting(name, {"direction": d}, (trial,))
        for name, d in (("visible-to-thermal", "v2t"), ("thermal-to-visible", "t2v"))
    ]


def llcm_settings() -> list[Setting]:
    """Both directions of LLCM, trials 0..9."""
    return [
        Setting(name, {"direction": d}, GALLERY_TRIALS)
        for name, d in (("infrared-to-visible", "i2v"), ("visible-to-infrared", "v2i"))
    ]
