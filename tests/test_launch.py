"""How train/test launch processes, and how a process finds its place in a job."""

from __future__ import annotations

import pytest
from gaitgen.runtime.distributed import _environment_ranks, expand_slurm_nodelist, setup
from gaitgen.runtime.errors import ConfigError

from gaitgen.cli.launch import LaunchOptions


def test_one_machine_uses_a_standalone_rendezvous() -> None:
    options = LaunchOptions(nproc=4)
    assert options.needs_launcher
    assert options.torchrun_args() == [
        "--standalone",
        "--nproc-per-node",
        "4",
        "--nnodes",
        "1",
        "--max-restarts",
        "0",
    ]
    assert not LaunchOptions().needs_launcher
    assert LaunchOptions(max_restarts=2).needs_launcher


def test_several_machines_need_a_meeting_point() -> None:
    c10d = LaunchOptions(
        nproc=8, nnodes=2, node_rank=1, rdzv_endpoint="host0:29500"
    ).torchrun_args()
    assert c10d[c10d.index("--rdzv-endpoint") + 1] == "host0:29500"
    assert c10d[c10d.index("--rdzv-backend") + 1] == "c10d" and "--standalone" not in c10d
    static = LaunchOptions(nproc=8, nnodes=2, node_rank=0, master_addr="10.0.0.1").torchrun_args()
    assert static[static.index("--master-addr") + 1] == "10.0.0.1"
    assert static[static.index("--node-rank") + 1] == "0"
    with pytest.raises(ConfigError, match="needs --rdzv-endpoint"):
        LaunchOptions(nproc=8, nnodes=2).torchrun_args()
    with pytest.raises(ConfigError, match="needs --node-rank"):
        LaunchOptions(nnodes=2, master_addr="h").torchrun_args()
    with pytest.raises(ConfigError, match="at least 1"):
        LaunchOptions(nproc=0).torchrun_args()


def test_slurm_nodelists_expand() -> None:
    assert expand_slurm_nodelist("gpu[01-03,07],cpu1") == [
        "gpu01",
        "gpu02",
        "gpu03",
        "gpu07",
        "cpu1",
    ]
    assert expand_slurm_nodelist("node7") == ["node7"]


def test_ranks_come_from_torchrun_or_slurm() -> None:
    assert _environment_ranks({"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}) == (3, 1, 8)
    assert _environment_ranks(
        {"SLURM_PROCID": "5", "SLURM_NTASKS": "16", "SLURM_LOCALID": "1"}
    ) == (5, 1, 16)
    assert _environment_ranks({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}) is None
    assert _environment_ranks({}) is None


def test_single_process_needs_no_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "SLURM_NTASKS", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)
    ctx = setup("cpu")
    assert ctx.world_size == 1 and ctx.is_main and ctx.device.type == "cpu" and ctx.backend is None
    import torch.distributed as dist

    assert not dist.is_initialized()


def test_asking_for_cuda_without_it_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="no CUDA device"):
        setup("cuda")


def test_one_device_choice_for_train_check_and_extract(monkeypatch, tiny_dataset) -> None:
    import torch
    from gaitgen.runtime.distributed import choose_device
    from gaitgen.runtime.engine.check import check_config_file
    from gaitgen.runtime.engine.extract import extract_embeddings
    from gaitgen.runtime.zoo import ZOO_DIR

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 2)
    assert choose_device(None) == torch.device("cuda", 2)  # CUDA when there is one
    assert choose_device("cuda", local_rank=1) == torch.device("cuda", 1)  # one GPU per process
    assert choose_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device(None) == torch.device("cpu")
    messages = set()
    root, partition = tiny_dataset
    for attempt in (
        lambda: setup("cuda"),
        lambda: check_config_file(ZOO_DIR / "gaitset.yaml", device="cuda"),
        lambda: extract_embeddings(ZOO_DIR / "gaitset.yaml", root, partition, device="cuda"),
    ):
        with pytest.raises(ConfigError, match="--device cuda: torch sees no CUDA device") as caught:
            attempt()
        messages.add(str(caught.value))
    assert len(messages) == 1
