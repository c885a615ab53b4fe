"""Distributed training on CPU with gloo: gradient equivalence, and kill-and-resume.

``gather_and_scale_wrapper`` must make N processes on slices of a batch produce the same
gradients as one process on the whole batch; a torchrun job whose worker dies after a
checkpoint must restart, resume from that checkpoint and finish.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import small_config
from gaitgen.runtime import BaseLoss, TripletLoss, gather_and_scale_wrapper
from torch.nn.parallel import DistributedDataParallel


class CenterContrastLoss(BaseLoss):
    """A user-written pairwise loss: pull same-label pairs together, push others apart."""

    @gather_and_scale_wrapper
    def forward(self, embeddings, labels):
        flat = embeddings.flatten(1)  # [n, c*p]
        dist_sq = torch.cdist(flat, flat).pow(2)  # [n, n]
        same = labels[:, None] == labels[None, :]
        loss = dist_sq[same].mean() - 0.1 * dist_sq[~same].clamp(max=4.0).mean()
        self.info = {"loss": loss.detach()}
        return loss, self.info


class Embedder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(6, 8)

    def forward(self, x):
        return self.fc(x).view(-1, 4, 2)  # [n, c, p]


def make_batch():
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(8, 6, generator=generator)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])  # P x K = 4 x 2
    return inputs, labels


def full_batch_gradients(loss_fn: BaseLoss) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = Embedder()
    inputs, labels = make_batch()
    loss, _ = loss_fn(embeddings=model(inputs), labels=labels)
    loss.mean().backward()
    return [p.grad.clone() for p in model.parameters()]


def _worker(rank: int, world_size: int, folder: str, loss_name: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/init", rank=rank, world_size=world_size
    )
    try:
        torch.manual_seed(0)
        model = DistributedDataParallel(Embedder())
        inputs, labels = make_batch()
        rows = slice(rank * 8 // world_size, (rank + 1) * 8 // world_size)
        loss_fn = TripletLoss(margin=0.5) if loss_name == "triplet" else CenterContrastLoss()
        loss, _ = loss_fn(embeddings=model(inputs[rows]), labels=labels[rows])
        loss.mean().backward()
        torch.save([p.grad.clone() for p in model.parameters()], f"{folder}/grads-{rank}.pt")
        dist.barrier()  # no rank leaves while the other is still in gloo (std::terminate)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("loss_name", ["triplet", "user"])
def test_two_processes_give_the_full_batch_gradient(tmp_path: Path, loss_name: str) -> None:
    reference = full_batch_gradients(
        TripletLoss(margin=0.5) if loss_name == "triplet" else CenterContrastLoss()
    )
    assert any(g.abs().sum() > 0 for g in reference)
    mp.start_processes(_worker, args=(2, str(tmp_path), loss_name), nprocs=2, start_method="spawn")
    results = {rank: torch.load(tmp_path / f"grads-{rank}.pt") for rank in (0, 1)}
    for rank in (0, 1):
        for got, expected in zip(results[rank], reference):
            assert torch.allclose(got, expected, atol=1e-5), (rank, got, expected)


def test_wrapper_is_the_identity_without_a_process_group() -> None:
    loss_fn = TripletLoss(margin=0.5)
    inputs, labels = make_batch()
    embeddings = Embedder()(inputs)
    wrapped, _ = loss_fn(embeddings=embeddings, labels=labels)
    unwrapped, _ = TripletLoss.forward.__wrapped__(loss_fn, embeddings=embeddings, labels=labels)
    assert torch.equal(wrapped, unwrapped)


def _children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    result = []
    for child in _children(pid):
        result += [child, *_descendants(child)]
    return result


def _is_worker(pid: int) -> bool:
    """A process that runs gaitgen.runtime and is not the torchrun agent (a rank or one of its
    forked DataLoader workers, which share its command line)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"gaitgen.runtime" in command and b"torch.distributed.run" not in command


def _ranks(agent: int) -> dict[int, int]:
    """{rank: pid} of the training processes under the launcher ``agent``, not their
    DataLoader workers."""
    ranks = {}
    for pid in _descendants(agent):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if _is_worker(pid) and not _is_worker(parent):
            for entry in environ:
                if entry.startswith(b"RANK="):
                    ranks[int(entry[5:])] = pid
    return ranks


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_killed_worker_restarts_and_resumes(tmp_path: Path, tiny_dataset) -> None:
    """Rank 0, which holds the run folder's lock, is killed while its DataLoader worker lives
    (issue 17, item 13: the worker kept the lock and the restart died on it)."""
    root, partition = tiny_dataset
    config = tmp_path / "dist.yaml"
    config.write_text(
        small_config(root, partition, total_iter=40).replace("num_workers: 0", "num_workers: 1")
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "gaitgen",
        "train",
        str(config),
        "--nproc",
        "2",
        "--max-restarts",
        "1",
        "--set",
        "trainer_cfg.save_iter=5",
        "--set",
        "trainer_cfg.log_iter=5",
    ]
    log_path = tmp_path / "log.txt"
    checkpoints = tmp_path / "output" / "tiny" / "Baseline" / "small" / "checkpoints"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        killed = None
        deadline = time.time() + 240
        while process.poll() is None and time.time() < deadline:
            if killed is None and (checkpoints / "small-00005.pt").exists():
                ranks = _ranks(process.pid)
                if len(ranks) == 2:
                    killed = ranks[0]
                    os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
    output = log_path.read_text()
    assert killed is not None, output
    assert process.returncode == 0, output
    assert "resuming from" in output, output
    assert "world size 2" in output
    saved = sorted(p.name for p in checkpoints.glob("*.pt"))
    assert saved[-1] == "small-00040.pt", saved
    from gaitgen.runtime.checkpoint import load_checkpoint

    for path in checkpoints.glob("*.pt"):
        assert load_checkpoint(path)["iteration"] == int(path.stem.split("-")[1])


def test_two_process_test_phase_matches_one_process(tmp_path: Path, tiny_dataset) -> None:
    """Inference sharded over 2 ranks gathers the embeddings in dataset order: same results."""
    root, partition = tiny_dataset
    config = tmp_path / "dist.yaml"
    # batch size 5 does not divide the 60 test sequences per rank evenly: shards must still join
    config.write_text(
        small_config(root, partition, total_iter=2).replace("batch_size: 8", "batch_size: 5")
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    base = [sys.executable, "-m", "gaitgen"]
    trained = subprocess.run(
        # OpenGait's configs set sync_BN; torch's SyncBatchNorm is CUDA-only: said, not fatal
        [*base, "train", str(config), "--nproc", "2", "--set", "trainer_cfg.sync_BN=true"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr
    assert "world size 2" in trained.stdout
    assert "sync_BN: ignored on cpu" in trained.stdout + trained.stderr
    run_dir = tmp_path / "output" / "tiny" / "Baseline" / "small"
    results = {}
    for nproc in ("2", "1"):
        tested = subprocess.run(
            [*base, "test", str(config), "--nproc", nproc],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert tested.returncode == 0, tested.stderr
        assert f"world size {nproc}" in tested.stdout
        with np.load(run_dir / "embeddings.npz", allow_pickle=False) as saved:
            results[nproc] = {key: saved[key] for key in saved.files}
        results[nproc]["evaluation"] = json.loads((run_dir / "results.json").read_text())
    # same sequences in the same order: labels, types and views equal element for element
    for key in ("label", "type", "view"):
        assert np.array_equal(results["1"][key], results["2"][key])
    # Same embeddings up to float32 rounding. A rank sees test batches of another size (3
    # instead of 5 sequences), so CPU kernels sum in another order: differences of a few ulps of
    # the largest feature (a 2-iteration model's features reach ~1e5). A fixed atol cannot hold
    # across scales; a shard joined in the wrong order or twice differs by the scale itself.
    one, two = results["1"]["feature"], results["2"]["feature"]
    scale = float(np.abs(one).max())
    assert scale > 0
    worst = float(np.abs(one - two).max())
    assert worst <= 1e-5 * scale, f"max difference {worst} on features up to {scale}"
    # and what the user reads: the evaluation result itself
    assert results["1"]["evaluation"] == results["2"]["evaluation"]
