"""Training and test data loaders over records.

Training batches come from :class:`ModalityBalancedSampler` and keep its layout: rows
``[P*K visible; P*K infrared]``. For small data (the synthetic demo) ``in_memory=True`` decodes
every image once into a uint8 tensor at the target size, so an epoch costs only augmentation.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2 import functional as F

from fienet.config import DataConfig
from fienet.data.io import load_image
from fienet.data.records import Record
from fienet.data.sampler import ModalityBalancedSampler
from fienet.data.transforms import test_transform, train_transform
from fienet.modalities import INFRARED, VISIBLE


class TrainBatch(NamedTuple):
    """One training batch, rows ordered ``[visible; infrared]``.

    Attributes:
        images: (2PK, 3, H, W) float32, normalised.
        labels: (2PK,) int64 contiguous training labels.
        is_infrared: (2PK,) bool.
    """

    images: torch.Tensor
    labels: torch.Tensor
    is_infrared: torch.Tensor


def label_map(records: Sequence[Record]) -> dict[int, int]:
    """Contiguous training labels: ``{pid: label}``, every pid of ``records`` ascending mapped to 0..N-1."""
    return {pid: label for label, pid in enumerate(sorted({r.pid for r in records}))}


def decode_all(records: Sequence[Record], height: int, width: int) -> torch.Tensor:
    """Decode and resize every record's image once.

    Returns:
        (N, 3, height, width) uint8 tensor, row i for ``records[i]``.
    """
    cache = torch.empty((len(records), 3, height, width), dtype=torch.uint8)
    for i, r in enumerate(records):
        cache[i] = F.resize(load_image(r.path), [height, width], antialias=True)
    return cache


class TrainDataset(Dataset):
    """Augmented training images with contiguous labels and their modality.

    Args:
        records: training records.
        height, width, pad, flip, random_erasing, channel_aug: see :func:`train_transform`;
            channel augmentation is applied to visible images only.
        in_memory: decode every image once at construction (fast, costs N*3*H*W bytes of RAM).

    Items:
        ``(image (3, H, W) float32, label int, is_infrared bool)``.
    """

    def __init__(
        self,
        records: Sequence[Record],
        height: int,
        width: int,
        pad: int = 10,
        flip: bool = True,
        random_erasing: float = 0.5,
        channel_aug: bool = True,
        in_memory: bool = False,
    ) -> None:
        if not records:
            raise ValueError("TrainDataset: no training records")
        self.records = list(records)
        self.labels = label_map(self.records)
        self.transforms = {
            VISIBLE: train_transform(height, width, pad, flip, random_erasing, channel_aug),
            INFRARED: train_transform(height, width, pad, flip, random_erasing, channel_aug=False),
        }
        self.cache = decode_all(self.records, height, width) if in_memory else None

    @property
    def num_classes(self) -> int:
        """Number of training identities (size of the classifier)."""
        return len(self.labels)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, bool]:
        r = self.records[index]
        image = self.cache[index] if self.cache is not None else load_image(r.path)
        return self.transforms[r.modality](image), self.labels[r.pid], r.modality == INFRARED


def collate_train(items: list[tuple[torch.Tensor, int, bool]]) -> TrainBatch:
    """Stack dataset items into a :class:`TrainBatch`, keeping their order."""
    images, labels, is_infrared = zip(*items)
    return TrainBatch(torch.stack(images), torch.tensor(labels), torch.tensor(is_infrared))


def make_train_loader(
    records: Sequence[Record],
    cfg: DataConfig,
    seed: int,
    epoch: int = 0,
    num_batches: int | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> DataLoader:
    """Training loader yielding :class:`TrainBatch` from a modality-balanced sampler.

    Call :func:`set_epoch` before each epoch; the label map and class count are
    ``loader.dataset.labels`` and ``loader.dataset.num_classes``.

    Args:
        records: training records.
        cfg: image size, P, K, augmentation, ``in_memory`` and ``workers``.
        seed: seed of the sampler and of the worker processes' augmentation streams.
        epoch: first epoch to draw.
        num_batches: batches per epoch (default: one pass over the visible images).
        rank, world_size: shard of a distributed run.
    """
    dataset = TrainDataset(
        records, cfg.height, cfg.width, cfg.pad, cfg.flip, cfg.random_erasing, cfg.channel_aug, cfg.in_memory
    )
    sampler = ModalityBalancedSampler(dataset.records, cfg.p, cfg.k, seed, num_batches, rank, world_size)
    sampler.set_epoch(epoch)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=cfg.workers,
        collate_fn=collate_train,
        # Workers are re-created every epoch with seeds drawn from this generator, which
        # set_epoch re-seeds from (seed, epoch): a resumed run augments exactly as a straight one.
        persistent_workers=False,
        generator=torch.Generator().manual_seed(seed),
    )


def set_epoch(loader: DataLoader, epoch: int) -> None:
    """Make ``loader``'s next pass epoch ``epoch``: its batches and its workers' random streams.

    With ``workers=0`` the augmentation draws from torch's global generator, whose state the
    checkpoints save and restore; with workers, each worker's seed comes from the loader's own
    generator, re-seeded here from the sampler seed and the epoch.
    """
    sampler = loader.batch_sampler
    sampler.set_epoch(epoch)
    # Distinct per rank too, so that distributed ranks do not augment alike.
    loader.generator.manual_seed((sampler.seed * 100_003 + epoch) * 1_009 + sampler.rank)


class EvalDataset(Dataset):
    """Test images with their position in ``records``; items ``(image (3, H, W) float32, index)``."""

    def __init__(self, records: Sequence[Record], height: int, width: int) -> None:
        self.records = list(records)
        self.transform = test_transform(height, width)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(load_image(self.records[index].path)), index


def modality_batches(records: Sequence[Record], batch_size: int) -> list[list[int]]:
    """Indices of ``records`` in batches that each hold one modality.

    Visible batches come first, then infrared ones; within a modality, record order. One loader
    can then feed a two-stream model, whose stem depends on the modality, batch after batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: expected a positive number of images per batch")
    batches = []
    for modality in (VISIBLE, INFRARED):
        index = [i for i, r in enumerate(records) if r.modality == modality]
        batches += [index[i : i + batch_size] for i in range(0, len(index), batch_size)]
    return batches


def make_test_loader(
    records: Sequence[Record],
    height: int,
    width: int,
    batch_size: int = 64,
    workers: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """Test loader yielding ``(images (B, 3, H, W), index (B,))``, one modality per batch.

    Args:
        records: images of either or both modalities, in any order; ``index`` gives each
            image's position in ``records`` (batches follow :func:`modality_batches`).
        height, width: test input size.
        batch_size: images per batch.
        workers: decoding processes (0: the calling process), as ``data.workers`` in training.
        pin_memory: page-locked batches, for faster non-blocking copies to a CUDA device.
    """
    return DataLoader(
        EvalDataset(records, height, width),
        batch_sampler=modality_batches(records, batch_size),
        num_workers=workers,
        pin_memory=pin_memory,
    )
