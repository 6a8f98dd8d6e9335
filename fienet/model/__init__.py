"""The FIENet network: two-stream ResNet backbone, PFAM, MPIM and the re-identification head."""

from fienet.model.backbone import ARCHS, TwoStreamResNet
from fienet.model.fienet import TARGET_LAYERS, FIENet, build_model
from fienet.model.head import FIENetOutput, GeM, ReIDHead
from fienet.model.mpim import MPIM
from fienet.model.pfam import PFAM

__all__ = [
    "ARCHS",
    "FIENet",
    "FIENetOutput",
    "GeM",
    "MPIM",
    "PFAM",
    "ReIDHead",
    "TARGET_LAYERS",
    "TwoStreamResNet",
    "build_model",
]
