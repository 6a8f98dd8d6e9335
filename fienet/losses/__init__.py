"""Training losses: identity cross-entropy, triplet (batch-hard, weighted regularised) and IGCL."""

from fienet.losses.criterion import TRIPLETS, FIENetCriterion
from fienet.losses.distances import euclidean_distances, row_distances
from fienet.losses.identity import identity_loss
from fienet.losses.igcl import (
    IdentityCentres,
    identity_centres,
    igcl_inter,
    igcl_intra,
    igcl_loss,
    igcl_terms,
)
from fienet.losses.triplet import triplet_hard_loss, triplet_wrt_loss

__all__ = [
    "FIENetCriterion",
    "IdentityCentres",
    "TRIPLETS",
    "euclidean_distances",
    "identity_centres",
    "identity_loss",
    "igcl_inter",
    "igcl_intra",
    "igcl_loss",
    "igcl_terms",
    "row_distances",
    "triplet_hard_loss",
    "triplet_wrt_loss",
]
