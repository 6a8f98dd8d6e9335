"""Modality-balanced identity sampler: every batch holds P identities x (K visible + K infrared).

Cross-modality losses (triplet, centre losses) need every identity of a batch in both
modalities, so the sampler draws identities first and then K images of each modality per
identity. An epoch is a pure function of ``(seed, epoch)``: resuming or re-running reproduces it.
"""

from __future__ import annotations

import warnings
from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from fienet.data.records import Record
from fienet.modalities import INFRARED, VISIBLE


class ModalityBalancedSampler(Sampler[list[int]]):
    """Batch sampler yielding ``[P*K visible indices; P*K infrared indices]`` into ``records``.

    Identity j of a batch occupies positions ``j*K .. j*K+K-1`` of both halves, in the same
    identity order. The P identities of a batch are distinct; an identity's K images of one
    modality are distinct when it has at least K of them and drawn with replacement otherwise.
    Identities seen in only one modality can never fill a batch and are left out (counted in
    ``excluded_pids``, with a warning).

    With ``world_size > 1`` each rank yields its consecutive share of the P identities of the
    same global batch (``P / world_size`` of them, in the same layout), so the ranks together see
    exactly the global batch.

    Args:
        records: the training records the indices refer to.
        p: identities per global batch.
        k: images per identity and per modality.
        seed: seed of the draw (non-negative); combined with the epoch set by :meth:`set_epoch`.
        num_batches: batches per epoch; default: enough for one pass over the visible images of
            the sampled identities (at least 1).
        rank, world_size: this process's shard (distributed training).
    """

    def __init__(
        self,
        records: Sequence[Record],
        p: int,
        k: int,
        seed: int = 0,
        num_batches: int | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if p < 1 or k < 1:
            raise ValueError(f"ModalityBalancedSampler: p={p}, k={k}; expected both >= 1")
        if seed < 0:
            raise ValueError(f"ModalityBalancedSampler: seed={seed}; expected a non-negative integer")
        if world_size < 1 or not 0 <= rank < world_size or p % world_size:
            raise ValueError(
                f"ModalityBalancedSampler: rank={rank}, world_size={world_size}, p={p}; "
                "expected 0 <= rank < world_size and world_size dividing p"
            )
        if num_batches is not None and num_batches < 1:
            raise ValueError(f"ModalityBalancedSampler: num_batches={num_batches}; expected >= 1 or None")
        by_pid: dict[int, dict[str, list[int]]] = {}
        for i, r in enumerate(records):
            by_pid.setdefault(r.pid, {VISIBLE: [], INFRARED: []})[r.modality].append(i)
        self.pids = tuple(sorted(pid for pid, m in by_pid.items() if m[VISIBLE] and m[INFRARED]))
        self.excluded_pids = tuple(sorted(set(by_pid) - set(self.pids)))
        if self.excluded_pids:
            warnings.warn(
                f"{len(self.excluded_pids)} identities have images in only one modality and are never sampled "
                f"(first: {list(self.excluded_pids[:10])})",
                stacklevel=2,
            )
        if len(self.pids) < p:
            raise ValueError(
                f"ModalityBalancedSampler: {len(self.pids)} identities have both visible and infrared images; "
                f"expected at least p={p}"
            )
        self.p, self.k, self.seed, self.rank, self.world_size = p, k, seed, rank, world_size
        self._pools = {m: _pad_pools([by_pid[pid][m] for pid in self.pids], k) for m in (VISIBLE, INFRARED)}
        n_visible = int(self._pools[VISIBLE][1].sum())
        self.num_batches = num_batches if num_batches is not None else max(1, n_visible // (p * k))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select which epoch the next iteration draws (call before each epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        n_ids = len(self.pids)
        # P distinct identities per batch: the first P of a random permutation of all identities.
        slots = np.argsort(rng.random((self.num_batches, n_ids)), axis=1)[:, : self.p]  # (B, P)
        visible = _draw(rng, *self._pools[VISIBLE], slots, self.k)  # (B, P, K)
        infrared = _draw(rng, *self._pools[INFRARED], slots, self.k)  # (B, P, K)
        share = self.p // self.world_size
        mine = slice(self.rank * share, (self.rank + 1) * share)
        for b in range(self.num_batches):
            yield np.concatenate([visible[b, mine].reshape(-1), infrared[b, mine].reshape(-1)]).tolist()


def _pad_pools(pools: list[list[int]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack ragged index lists into a -1-padded (num_ids, max(longest, k)) array and their lengths (num_ids,)."""
    counts = np.array([len(pool) for pool in pools])
    table = np.full((len(pools), max(int(counts.max()), k)), -1, dtype=np.int64)
    for row, pool in enumerate(pools):
        table[row, : len(pool)] = pool
    return table, counts


def _draw(rng: np.random.Generator, table: np.ndarray, counts: np.ndarray, slots: np.ndarray, k: int) -> np.ndarray:
    """K record indices per identity slot.

    Args:
        rng: the epoch's generator.
        table: (num_ids, width) padded record indices; counts: (num_ids,) valid lengths.
        slots: (B, P) identity rows.
        k: images per slot.

    Returns:
        (B, P, K) record indices.
    """
    n = counts[slots][..., None]  # (B, P, 1)
    width = table.shape[1]
    # Without replacement: the K smallest of random keys, padding keys pushed past every real one.
    keys = rng.random((*slots.shape, width))  # (B, P, width)
    keys[np.arange(width) >= n] = np.inf
    distinct = np.argsort(keys, axis=-1)[..., :k]  # (B, P, K)
    repeated = np.floor(rng.random((*slots.shape, k)) * n).astype(np.int64)  # (B, P, K)
    columns = np.where(n >= k, distinct, repeated)
    return table[slots[..., None], columns]  # (B, P, K)
