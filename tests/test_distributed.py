"""Data-parallel training on the CPU: two gloo processes against a single-process reference.

What the two-process run must equal, and why that is the meaningful check: each rank sees half of
every global batch (P/2 identities, K visible + K infrared each) and computes BatchNorm statistics,
the triplet loss and IGCL on that half only, so its loss is *not* the loss of the full global
batch; DDP then averages the gradients, i.e. it steps on the mean of the two half-batch losses,
and keeps rank 0's BatchNorm running statistics (broadcast before every forward). The reference
below does exactly that in one process: forward the two halves separately, back-propagate the
mean of their losses, keep the running statistics of half 0. Equality up to float rounding then
shows that the ranks drew the right halves of the same global batches, started from the same
weights, averaged their gradients, stepped identically and resumed exactly; a wrong shard, a
missing gradient average or a restarted schedule would each move the losses far outside the
tolerance. (Comparing with the loss of the full batch would only hold with SyncBatchNorm and
decomposable losses, and torch's SyncBatchNorm has no CPU kernel.)
"""

from __future__ import annotations

import json
import socket
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.multiprocessing as mp

from fienet.checkpoint import load_checkpoint
from fienet.config import Config, apply_overrides
from fienet.data import make_train_loader, set_epoch, split_validation
from fienet.data.synthetic import generate_synthetic
from fienet.distributed import SINGLE_PROCESS, DistEnv, reduce_stats, setup, wrap_model
from fienet.engine import training_records
from fienet.losses import FIENetCriterion
from fienet.model import build_model
from fienet.optim import build_optimizer, build_scheduler
from fienet.runtime import seed_everything

WORLD = 2


def tiny_config(root: Path, out_dir: Path, *overrides: str) -> Config:
    """P=4 identities per global batch, augmentation off so that both runs see identical pixels."""
    base = [
        "data.dataset=synthetic", f"data.root={root}", "data.height=32", "data.width=16",
        "data.p=4", "data.k=2", "data.val_ids=2", "data.in_memory=true", "data.workers=0",
        "data.pad=0", "data.flip=false", "data.random_erasing=0.0", "data.channel_aug=false",
        "model.arch=resnet18", "model.weights=null", "train.epochs=2", "train.iters_per_epoch=2",
        "train.optimizer=sgd", "train.lr=0.05", "train.warmup_epochs=1", "train.milestones=[1]",
        "train.eval_every=1", "train.progress=false", "train.device=cpu", "train.amp=fp32",
        f"train.out_dir={out_dir}",
    ]
    return apply_overrides(Config(), [*base, *overrides])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, cfg_dict: dict, ports: list[int]) -> None:
    """One rank, as torchrun would start it: train 1 epoch, then resume to the end."""
    import os

    import fienet.engine as engine

    torch.set_num_threads(1)
    writes: list[str] = []
    save = engine.save_checkpoint

    def counting_save(state, path):
        writes.append(Path(path).name)
        return save(state, path)

    engine.save_checkpoint = counting_save
    cfg = Config.from_dict(cfg_dict)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD), MASTER_ADDR="127.0.0.1")
    for port, epochs, resume in ((ports[0], 1, False), (ports[1], cfg.train.epochs, True)):
        os.environ["MASTER_PORT"] = str(port)
        engine.fit(apply_overrides(cfg, [f"train.epochs={epochs}"]), resume=resume)
    Path(cfg.train.out_dir, f"writes_rank{rank}.json").write_text(json.dumps(writes))


def reference_run(cfg: Config) -> tuple[list[float], dict[str, torch.Tensor]]:
    """What DDP computes, in one process: per-epoch mean loss and the final state dict."""
    seed_everything(cfg.train.seed)
    train_recs, _ = split_validation(training_records(cfg), cfg.data.val_ids, cfg.train.seed)
    loaders = [
        make_train_loader(train_recs, cfg.data, cfg.train.seed, num_batches=cfg.train.iters_per_epoch,
                          rank=r, world_size=WORLD)
        for r in range(WORLD)
    ]
    model = build_model(cfg.model, loaders[0].dataset.num_classes)
    criterion = FIENetCriterion(cfg.loss)
    optimizer = build_optimizer(model, cfg.train)
    scheduler = build_scheduler(optimizer, cfg.train)
    model.train()
    epoch_losses = []
    for epoch in range(cfg.train.epochs):
        for loader in loaders:
            set_epoch(loader, epoch)
        losses = []
        for halves in zip(*loaders):
            half_losses, rank0_buffers = [], None
            for batch in halves:
                n_vis = int((~batch.is_infrared).sum())
                out = model(visible=batch.images[:n_vis], infrared=batch.images[n_vis:])
                half_losses.append(criterion(out, batch.labels, batch.is_infrared)[0])
                if rank0_buffers is None:
                    rank0_buffers = {k: b.clone() for k, b in model.named_buffers()}
            loss = torch.stack(half_losses).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():  # DDP keeps rank 0's running statistics
                for k, b in model.named_buffers():
                    b.copy_(rank0_buffers[k])
            losses.append(float(loss.detach()))
        scheduler.step()
        epoch_losses.append(float(np.mean(losses)))
    return epoch_losses, model.state_dict()


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return generate_synthetic(tmp_path_factory.mktemp("synthetic") / "tiny", preset="tiny", seed=0)


def test_two_gloo_processes_match_the_single_process_reference(tiny_root, tmp_path) -> None:
    cfg = tiny_config(tiny_root, tmp_path / "ddp")
    mp.spawn(_worker, args=(cfg.to_dict(), [_free_port(), _free_port()]), nprocs=WORLD, join=True)

    history = pd.read_csv(tmp_path / "ddp" / "history.csv")
    assert list(history["epoch"]) == [1, 2]  # epoch 2 came from the resumed run
    # One thread like each rank: CPU kernels sum in a thread-count dependent order, and a few SGD
    # steps amplify those last-bit differences well past the tolerance.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref_losses, ref_state = reference_run(cfg)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(history["loss"].to_numpy(), ref_losses, rtol=1e-5)

    state = load_checkpoint(tmp_path / "ddp" / "last.pt")
    assert state["model"].keys() == ref_state.keys()  # no "module." prefix from the DDP wrapper
    for key, value in ref_state.items():
        torch.testing.assert_close(state["model"][key], value, rtol=1e-4, atol=1e-5, msg=f"{key} differs")
    assert len(state["rng_per_rank"]) == WORLD

    writes = [json.loads((tmp_path / "ddp" / f"writes_rank{r}.json").read_text()) for r in range(WORLD)]
    assert "last.pt" in writes[0] and writes[1] == []  # only rank 0 writes checkpoints


def test_single_process_without_launcher(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert setup("cpu") == SINGLE_PROCESS
    stats = {"loss": 2.0, "images_per_s": 10.0}
    assert reduce_stats(stats, SINGLE_PROCESS, torch.device("cpu"), summed=("images_per_s",)) == stats


def test_incomplete_launch_environment_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(RuntimeError, match=r"MASTER_ADDR and MASTER_PORT not set.*torchrun --nproc_per_node"):
        setup("cpu")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match=r"WORLD_SIZE='two': expected an integer"):
        setup("cpu")


def test_sync_bn_in_a_single_process_says_it_is_ignored() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    with pytest.warns(UserWarning, match=r"^train\.sync_bn=true: ignored in a single process.*torchrun") as caught:
        wrapped = wrap_model(model, SINGLE_PROCESS, torch.device("cpu"), sync_bn=True)
    assert len(caught) == 1
    assert wrapped is model and isinstance(model[1], torch.nn.BatchNorm2d)  # nothing converted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wrap_model(model, SINGLE_PROCESS, torch.device("cpu"), sync_bn=False) is model


def test_sync_bn_on_cpu_is_refused() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    with pytest.raises(ValueError, match=r"train.sync_bn=true needs CUDA devices"):
        wrap_model(model, DistEnv(rank=0, world_size=2), torch.device("cpu"), sync_bn=True)
