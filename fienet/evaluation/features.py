"""One feature-extraction function for queries and galleries alike."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from fienet.data.loader import make_test_loader
from fienet.data.records import Record
from fienet.progress import progress as progress_bar
from fienet.runtime import Runtime


@torch.no_grad()
def extract_features(
    model: nn.Module,
    records: Sequence[Record],
    height: int,
    width: int,
    runtime: Runtime | torch.device | str = "cpu",
    batch_size: int = 128,
    workers: int = 0,
    flip: bool = False,
    progress: bool = False,
) -> np.ndarray:
    """Embed every record with ``model.embed`` through the stem of its own modality.

    Args:
        model: a FIENet (anything with ``embed(images, modality) -> (B, D)``).
        records: images of either or both modalities, in any order.
        height, width: test input size.
        runtime: device, precision and memory format of the forward pass; a bare device means
            :meth:`Runtime.for_evaluation` on it (fp32).
        batch_size: images per forward pass.
        workers: processes decoding images while the model runs (``data.workers``; 0: decode in
            this process between forward passes). Batches are pinned when the device is CUDA.
        flip: also embed the horizontally flipped image and average (then re-normalise).
        progress: a progress bar in images, with the measured rate from the first batch on.

    Returns:
        (N, D) float32 array, row i for ``records[i]``, L2-normalised.
    """
    if not records:
        raise ValueError("extract_features: no records given")
    runtime = Runtime.of(runtime)
    was_training = model.training
    model.eval()
    feats: np.ndarray | None = None
    loader = make_test_loader(
        records, height, width, batch_size, workers, pin_memory=runtime.device.type == "cuda"
    )
    bar = progress_bar(total=len(records), desc="features", unit="img", disable=not progress)
    try:
        for images, rows in loader:
            modality = records[int(rows[0])].modality  # every batch holds one modality
            images = runtime.inputs(images)
            with runtime.autocast():
                emb = model.embed(images, modality).float()  # (B, D)
                if flip:
                    emb = emb + model.embed(torch.flip(images, dims=[3]), modality).float()
                    emb = nn.functional.normalize(emb, dim=1)
            if feats is None:
                feats = np.zeros((len(records), emb.shape[1]), dtype=np.float32)
            feats[rows.numpy()] = emb.cpu().numpy()
            bar.update(len(rows))
    finally:
        bar.close()
        model.train(was_training)
    return feats
