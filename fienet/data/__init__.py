"""Data: dataset readers, the modality-balanced sampler, transforms and loaders."""

from fienet.data.datasets import build_dataset, split_validation
from fienet.data.llcm import LLCM
from fienet.data.loader import TrainBatch, make_test_loader, make_train_loader, set_epoch
from fienet.data.records import INFRARED, VISIBLE, Record
from fienet.data.regdb import RegDB
from fienet.data.sampler import ModalityBalancedSampler
from fienet.data.synthetic import generate_synthetic
from fienet.data.sysu import SYSUMM01
from fienet.data.transforms import ChannelAugmentation, test_transform, train_transform

__all__ = [
    "INFRARED",
    "LLCM",
    "VISIBLE",
    "ChannelAugmentation",
    "ModalityBalancedSampler",
    "Record",
    "RegDB",
    "SYSUMM01",
    "TrainBatch",
    "build_dataset",
    "generate_synthetic",
    "make_test_loader",
    "make_train_loader",
    "set_epoch",
    "split_validation",
    "test_transform",
    "train_transform",
]
