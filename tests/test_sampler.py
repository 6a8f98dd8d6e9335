"""Modality-balanced sampler and the training/test loaders built on it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from fienet.config import DataConfig
from fienet.data import (
    INFRARED,
    SYSUMM01,
    VISIBLE,
    ModalityBalancedSampler,
    Record,
    make_test_loader,
    make_train_loader,
)
from fienet.data.io import load_image
from fienet.data.loader import TrainBatch
from fienet.data.transforms import test_transform


def _records(counts: dict[int, tuple[int, int]]) -> list[Record]:
    """Records from ``{pid: (n_visible, n_infrared)}``, modalities interleaved to make order matter."""
    out = []
    for pid, (n_vis, n_ir) in counts.items():
        out += [Record(f"{pid}/v{i}.jpg", pid, 1, VISIBLE) for i in range(n_vis)]
        out += [Record(f"{pid}/i{i}.jpg", pid, 3, INFRARED) for i in range(n_ir)]
    return out


COUNTS = {10: (6, 4), 11: (1, 5), 12: (3, 3), 13: (8, 2), 14: (2, 9), 15: (4, 0)}  # 15: visible only


def _sampler(**kwargs) -> ModalityBalancedSampler:
    with pytest.warns(UserWarning, match=r"1 identities have images in only one modality .*\[15\]"):
        return ModalityBalancedSampler(_records(COUNTS), **kwargs)


def test_batch_layout_p_ids_times_k_per_modality() -> None:
    records = _records(COUNTS)
    p, k = 3, 3
    sampler = _sampler(p=p, k=k, seed=0, num_batches=20)
    assert sampler.excluded_pids == (15,) and sampler.pids == (10, 11, 12, 13, 14)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 20
    for batch in batches:
        assert len(batch) == 2 * p * k
        vis, ir = [records[i] for i in batch[: p * k]], [records[i] for i in batch[p * k :]]
        assert all(r.modality == VISIBLE for r in vis) and all(r.modality == INFRARED for r in ir)
        assert [r.pid for r in vis] == [r.pid for r in ir]  # same identity order in both halves
        pids = [vis[j * k].pid for j in range(p)]
        assert len(set(pids)) == p and 15 not in pids
        for j, pid in enumerate(pids):
            for half in (vis, ir):
                block = half[j * k : (j + 1) * k]
                assert all(r.pid == pid for r in block)
                n_pool = COUNTS[pid][0 if half is vis else 1]
                if n_pool >= k:  # enough images: no repeats inside the identity's block
                    assert len({r.path for r in block}) == k


def test_every_identity_and_image_gets_drawn() -> None:
    records = _records(COUNTS)
    sampler = _sampler(p=2, k=2, seed=3, num_batches=200)
    drawn = Counter(i for batch in sampler for i in batch)
    eligible = [i for i, r in enumerate(records) if r.pid != 15]
    assert set(drawn) == set(eligible)
    per_pid = Counter(records[i].pid for batch in sampler for i in batch[:4:2])  # one slot per identity
    assert all(60 < n < 100 for n in per_pid.values())  # 200 batches x 2 ids / 5 ids = 80 each


def test_deterministic_for_seed_and_epoch() -> None:
    a, b = _sampler(p=2, k=2, seed=5), _sampler(p=2, k=2, seed=5)
    assert list(a) == list(b) == list(a)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(_sampler(p=2, k=2, seed=6)) != first


def test_default_length_is_one_pass_over_visible_images() -> None:
    sampler = _sampler(p=2, k=2, seed=0)
    assert len(sampler) == (6 + 1 + 3 + 8 + 2) // (2 * 2)  # visible images of sampled identities


def test_shards_partition_the_global_batch() -> None:
    p, k = 4, 2
    whole = list(_sampler(p=p, k=k, seed=1, num_batches=5))
    shards = [list(_sampler(p=p, k=k, seed=1, num_batches=5, rank=r, world_size=2)) for r in range(2)]
    for b, batch in enumerate(whole):
        vis, ir = batch[: p * k], batch[p * k :]
        half = p * k // 2
        assert shards[0][b] == vis[:half] + ir[:half]
        assert shards[1][b] == vis[half:] + ir[half:]


def test_sampler_errors() -> None:
    records = _records({pid: n for pid, n in COUNTS.items() if pid != 15})
    with pytest.raises(ValueError, match="rank=0, world_size=2, p=3; expected 0 <= rank < world_size and world_size"):
        ModalityBalancedSampler(records, p=3, k=2, world_size=2)
    with pytest.raises(ValueError, match="5 identities have both visible and infrared images; expected at least p=6"):
        ModalityBalancedSampler(records, p=6, k=2)
    with pytest.raises(ValueError, match="p=0, k=2"):
        ModalityBalancedSampler(records, p=0, k=2)


# ---------------------------------------------------------------- loaders


@pytest.mark.parametrize("in_memory", [False, True])
def test_train_loader_batches(sysu_root: Path, in_memory: bool) -> None:
    records = SYSUMM01(sysu_root).train_records()
    cfg = DataConfig(height=16, width=8, p=2, k=2, pad=2, in_memory=in_memory, workers=0)
    loader = make_train_loader(records, cfg, seed=0, num_batches=3)
    assert loader.dataset.num_classes == 3 and loader.dataset.labels == {1: 0, 2: 1, 3: 2}
    batches = list(loader)
    assert len(batches) == 3
    for batch in batches:
        assert isinstance(batch, TrainBatch)
        assert batch.images.shape == (8, 3, 16, 8) and batch.images.dtype == torch.float32
        assert batch.labels.dtype == torch.int64 and batch.is_infrared.dtype == torch.bool
        assert batch.is_infrared.tolist() == [False] * 4 + [True] * 4
        assert torch.equal(batch.labels[:4], batch.labels[4:])
        assert batch.labels[0] == batch.labels[1] and batch.labels[0] != batch.labels[2]
    loader.batch_sampler.set_epoch(0)
    assert [b.labels.tolist() for b in loader] == [b.labels.tolist() for b in batches]


def test_in_memory_cache_holds_resized_images(sysu_root: Path) -> None:
    records = SYSUMM01(sysu_root).train_records()
    cfg = DataConfig(height=16, width=8, p=2, k=2, in_memory=True, workers=0)
    dataset = make_train_loader(records, cfg, seed=0).dataset
    assert dataset.cache.shape == (len(records), 3, 16, 8) and dataset.cache.dtype == torch.uint8
    # Solid-colour images stay (almost) solid after resizing: the cache row is the decoded file.
    first = load_image(records[0].path).float().mean(dim=(1, 2))
    assert torch.allclose(dataset.cache[0].float().mean(dim=(1, 2)), first, atol=2)


def test_test_loader_batches_one_modality_in_record_order(sysu_root: Path) -> None:
    query, gallery = SYSUMM01(sysu_root).test_split()
    records = query + gallery  # infrared first: the loader still yields every visible batch first
    for workers in (0, 2):
        seen = []
        for images, index in make_test_loader(records, 16, 8, batch_size=4, workers=workers):
            assert images.shape[1:] == (3, 16, 8)
            assert len({records[i].modality for i in index.tolist()}) == 1
            for image, i in zip(images, index.tolist()):
                assert torch.equal(image, test_transform(16, 8)(load_image(records[i].path)))
            seen += index.tolist()
        visible = [i for i, r in enumerate(records) if r.modality == VISIBLE]
        infrared = [i for i, r in enumerate(records) if r.modality == INFRARED]
        assert seen == visible + infrared
