"""Checkpoints: atomic writes, safe loading, restore hints."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from gaitgen.runtime.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from gaitgen.runtime.engine.run_folder import RunFolder
from gaitgen.runtime.errors import CheckpointError

MARKER: list[str] = []


class Payload:
    """Unpickling this would call MARKER.append: a stand-in for arbitrary code."""

    def __reduce__(self):
        return (MARKER.append, ("executed",))


def test_save_is_atomic_and_latest_is_found(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "run")
    for iteration in (2, 10, 4):
        save_checkpoint(folder.checkpoint(iteration), {"model": {}, "iteration": iteration})
    (folder.checkpoint_dir / ".run-00012.pt.abc.tmp").write_bytes(b"partial")  # a crashed write
    assert folder.latest_checkpoint() == tmp_path / "checkpoints" / "run-00010.pt"
    assert load_checkpoint(folder.latest_checkpoint())["iteration"] == 10


def test_failed_save_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "run-00001.pt", {"model": {}})
    assert list(tmp_path.iterdir()) == []


def test_loading_a_malicious_checkpoint_executes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "evil-00001.pt"
    with open(path, "wb") as handle:
        pickle.dump({"model": Payload()}, handle)
    torch.save({"model": {"w": torch.zeros(1)}, "x": Payload()}, tmp_path / "evil-00002.pt")
    for name in ("evil-00001.pt", "evil-00002.pt"):
        with pytest.raises(CheckpointError, match="cannot be loaded as a checkpoint"):
            load_checkpoint(tmp_path / name)
    assert MARKER == []


def test_restore_hint_forms(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "run")
    saved = save_checkpoint(folder.checkpoint(5), {"model": {}})
    assert folder.resolve_restore_hint(0) is None
    assert folder.resolve_restore_hint(5) == tmp_path / "checkpoints" / "run-00005.pt" == saved
    assert folder.resolve_restore_hint("latest") == saved
    assert folder.resolve_restore_hint(str(saved)).is_file()
    with pytest.raises(CheckpointError, match=r"available iterations: \[5\]"):
        folder.resolve_restore_hint(7)
    with pytest.raises(CheckpointError, match="not found"):
        folder.resolve_restore_hint("missing.pt")


def test_rng_state_round_trips_through_a_safe_checkpoint(tmp_path: Path) -> None:
    import random

    import numpy as np

    state = rng_state()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    save_checkpoint(tmp_path / "r-00001.pt", {"model": {}, "rng": state})
    set_rng_state(load_checkpoint(tmp_path / "r-00001.pt")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert random.random() == expected[2]


def test_weights_that_do_not_fit_the_model_are_a_clear_error(tmp_path: Path) -> None:
    from gaitgen.runtime.checkpoint import load_model_weights

    state = {"model": torch.nn.Linear(3, 2).state_dict()}
    # another shape: named with both shapes; restore_ckpt_strict cannot help, so not advised
    for strict in (True, False):
        with pytest.raises(CheckpointError) as caught:
            load_model_weights(torch.nn.Linear(4, 2), state, tmp_path / "x.pt", strict=strict)
        message = str(caught.value)
        assert "does not fit model Linear" in message
        assert "weight (checkpoint 2x3, model 2x4)" in message
        assert "restore_ckpt_strict" not in message
    # missing and unexpected keys: listed with shapes, and strict off is the fix offered
    two = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    renamed = {"0.weight": state["model"]["weight"], "head.bias": torch.zeros(1)}
    with pytest.raises(CheckpointError) as caught:
        load_model_weights(two, {"model": renamed}, tmp_path / "x.pt", strict=True)
    message = str(caught.value)
    assert "3 missing from the checkpoint: 0.bias (2), 1.weight (1x2), 1.bias (1)" in message
    assert "1 not in the model: head.bias (1)" in message
    assert "set restore_ckpt_strict: false" in message
    partial = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    load_model_weights(
        partial, {"model": {"0.weight": state["model"]["weight"]}}, tmp_path / "x.pt", strict=False
    )
    assert torch.equal(partial[0].weight, state["model"]["weight"])
    # strict off, but not one weight in common (a fine-tune pointed at the wrong file): an
    # error naming the file and both sides, not a silent start from scratch
    with pytest.raises(CheckpointError) as caught:
        load_model_weights(two, {"model": {"head.bias": torch.zeros(1)}}, tmp_path / "x.pt", False)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'x.pt'}: does not fit model Sequential")
    assert "none of its weights is the model's" in message
    assert "4 missing from the checkpoint: 0.weight (2x3)" in message
    assert "1 not in the model: head.bias" in message
    assert "check that restore_hint names the checkpoint" in message


def test_a_ddp_module_prefix_is_removed(tmp_path: Path) -> None:
    from gaitgen.runtime.checkpoint import load_model_weights

    source = torch.nn.Linear(3, 2)
    wrapped = {f"module.{key}": value for key, value in source.state_dict().items()}
    target = torch.nn.Linear(3, 2)
    load_model_weights(target, {"model": wrapped}, tmp_path / "x.pt", strict=True)
    assert torch.equal(target.weight, source.weight)


def test_a_relative_restore_hint_is_found_under_the_project(tmp_path: Path, monkeypatch) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    folder = project / "output" / "SynthGait" / "GLN" / "GLN_P1" / "checkpoints"
    folder.mkdir(parents=True)
    elsewhere.mkdir()
    save_checkpoint(folder / "GLN_P1-00240.pt", {"model": {}})
    monkeypatch.chdir(elsewhere)  # run from another folder: found under the project root
    hint = "output/SynthGait/GLN/GLN_P1/checkpoints/GLN_P1-00240.pt"
    folder = RunFolder(tmp_path, "run")
    found = folder.resolve_restore_hint(hint, (project, project / "configs"))
    assert found == project / hint
    with pytest.raises(CheckpointError, match=f"looked in the working folder and {project}"):
        folder.resolve_restore_hint("output/missing.pt", (project,))


@pytest.mark.parametrize(
    "entries, named",
    [
        ({"model": torch.zeros(3)}, "'model' entry is a float32 tensor of shape 3, not a state"),
        ({"model": [torch.zeros(3)]}, "'model' entry is a list, not a state dict"),
        ({"model": {"w": [1, 2]}}, "'model' entry maps 'w' to a list"),
        ({"model": {}, "iteration": "four"}, "'iteration' entry is 'four' (a str), not a whole"),
        ({"model": {}, "iteration": 2.5}, "'iteration' entry is 2.5 (a float), not a whole"),
        ({"model": {}, "iteration": [4]}, "'iteration' entry is [4] (a list), not a whole"),
        ({"model": {}, "iteration": -2}, "'iteration' entry is -2 (an int), not a whole"),
    ],
)
def test_a_checkpoint_of_the_wrong_structure_is_refused_where_it_is_read(
    tmp_path: Path, entries: dict, named: str
) -> None:
    """Issue 17, item 18: a 'model' that is no state dict, an 'iteration' that is no whole
    number: one line naming the file and the entry, not a TypeError from deep inside."""
    path = save_checkpoint(tmp_path / "run-00004.pt", entries)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert str(caught.value).startswith(f"{path}: its "), caught.value
    assert named in str(caught.value)


def test_a_whole_float_iteration_is_read_as_an_int(tmp_path: Path) -> None:
    """Issue 17, item 18: 4.0 is a whole number (a tool that saved floats): read as 4."""
    path = save_checkpoint(tmp_path / "run-00004.pt", {"model": {}, "iteration": 4.0})
    iteration = load_checkpoint(path)["iteration"]
    assert iteration == 4 and isinstance(iteration, int)


def _corrupt_rng(part: str) -> object:
    state = rng_state()
    if part == "type":
        return "x"
    if part == "torch size":
        state["torch"] = torch.zeros(10, dtype=torch.uint8)
    elif part == "torch dtype":
        state["torch"] = state["torch"].float()
    elif part == "numpy keys":
        state["numpy"]["keys"] = torch.zeros(5, dtype=torch.int64)
    else:  # a missing part
        del state[part]
    return state


@pytest.mark.parametrize(
    "part, named",
    [
        ("type", "it is a str, not a mapping"),
        ("torch size", "rng.torch: RuntimeError: Expected a CPUGeneratorImplState of size"),
        ("torch dtype", "rng.torch: TypeError"),
        ("numpy keys", "rng.numpy:"),
        ("numpy", "it has no 'numpy'"),
        ("python", "it has no 'python'"),
    ],
)
def test_corrupt_rng_states_are_refused_and_change_nothing(part: str, named: str) -> None:
    """Issue 17, item 18: a corrupt 'rng' entry is one line naming the file and the entry,
    and no generator is changed (a resume that is not exact is refused, never silent)."""
    before = rng_state()
    with pytest.raises(CheckpointError) as caught:
        set_rng_state(_corrupt_rng(part), "ckpt/run-00004.pt")
    message = str(caught.value)
    assert message.startswith("ckpt/run-00004.pt: its 'rng' entry"), message
    assert named in message
    assert "would not repeat the uninterrupted run exactly" in message
    assert "--set trainer_cfg.restore_hint=ckpt/run-00004.pt" in message
    after = rng_state()
    assert torch.equal(after["torch"], before["torch"])
    assert torch.equal(after["numpy"]["keys"], before["numpy"]["keys"])
    assert after["python"] == before["python"]
    assert after["numpy"]["pos"] == before["numpy"]["pos"]


def _sgd_and_schedule(parameters: int = 1):
    weights = [torch.nn.Parameter(torch.zeros(2)) for _ in range(parameters)]
    optimizer = torch.optim.SGD(weights, lr=0.1, momentum=0.9)
    return optimizer, torch.optim.lr_scheduler.MultiStepLR(optimizer, [10])


def test_training_state_of_another_optimizer_or_layout_names_the_entry(tmp_path: Path) -> None:
    """Issue 17, item 18: an Adam checkpoint resumed with SGD, a state of another parameter
    layout, a scheduler or scaler that is no state: one line naming the file, the entry
    and the reset that starts it afresh, not torch's KeyError/ValueError."""
    from gaitgen.runtime.engine.restore import restore_training_state

    path = tmp_path / "run-00004.pt"
    weight = torch.nn.Parameter(torch.zeros(2))
    adam = torch.optim.Adam([weight])
    weight.grad = torch.ones(2)
    adam.step()
    optimizer, scheduler = _sgd_and_schedule()
    with pytest.raises(CheckpointError) as caught:
        restore_training_state(
            {"optimizer": adam.state_dict()}, path, optimizer, scheduler, None, rng=False
        )
    message = str(caught.value)
    assert message.startswith(
        f"{path}: its 'optimizer' entry does not fit this config's "
        "optimizer (SGD): it is another optimizer's state, with settings "
        "amsgrad, betas, eps and buffers exp_avg, exp_avg_sq, step"
    )
    assert "set trainer_cfg.optimizer_reset: true" in message
    # optimizer_reset: the optimizer is left as built, the rest is restored
    restore_training_state({"optimizer": adam.state_dict()}, path, None, scheduler, None, False)
    two_parameters, _ = _sgd_and_schedule(parameters=2)
    with pytest.raises(CheckpointError, match=r"'optimizer' entry does not fit .*ValueError"):
        restore_training_state(
            {"optimizer": two_parameters.state_dict()}, path, optimizer, None, None, False
        )
    with pytest.raises(
        CheckpointError, match=r"'scheduler' entry .* it is a str, .*scheduler_reset: true"
    ):
        restore_training_state({"scheduler": "x"}, path, None, scheduler, None, False)
    step_lr = torch.optim.lr_scheduler.StepLR(optimizer, 5)
    with pytest.raises(CheckpointError, match="another scheduler's state, without milestones;"):
        restore_training_state(
            {"scheduler": step_lr.state_dict()}, path, None, scheduler, None, False
        )
    scaler = torch.amp.GradScaler("cpu")
    with pytest.raises(CheckpointError, match=r"'scaler' entry .* it is a float32 tensor"):
        restore_training_state({"scaler": torch.ones(2)}, path, None, None, scaler, False)
    restore_training_state({"scaler": {}}, path, None, None, scaler, False)  # saved without fp16
