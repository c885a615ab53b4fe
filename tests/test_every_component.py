"""Every built-in of every kind of the component table, exercised: a new one is tested here
without anyone writing a test for it (as timm tests every registered model).

Models are exercised by ``tests/test_zoo.py`` (every zoo model, through the same table);
optimizers and schedulers are torch's own (``tests/test_components.py`` resolves them all);
the evaluation presets are data, each evaluated in ``tests/test_evaluation*.py``.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from gaitgen.runtime.components import KINDS, available, build, get
from gaitgen.runtime.components.arguments import signature_of
from gaitgen.runtime.zoo import ZOO_DIR


def names(kind: str) -> list[str]:
    return [component.name for component in available(kind)]


def test_every_class_kind_has_a_test_here_or_in_the_named_files() -> None:
    covered_here = {"loss", "backbone", "sampler", "transform", "generator"}
    elsewhere = {"model", "optimizer", "scheduler", "evaluation", "protocol"}
    assert covered_here | elsewhere == set(KINDS), "a new kind needs its members exercised"


# --- transforms -------------------------------------------------------------------------


def built_transform(name: str):
    if name == "Compose":  # its argument is a list of other transforms
        return build("transform", {"type": name, "trf_cfg": [{"type": "RandomRotate"}]})
    if name == "TwoView":  # two runs of a list of pose transforms
        return build("transform", {"type": name, "trf_cfg": [{"type": "JointNoise"}]})
    return build("transform", {"type": name})


def example_batch(transform) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Frames of the kind the transform takes (its ``frame_kind``) and two sequence lengths."""
    if transform.frame_kind == "poses":  # COCO-17 poses (x, y, confidence), float64
        frames = torch.rand((30, 17, 3), generator=torch.Generator().manual_seed(1)) * 64
        return frames.double(), (13, 17)
    value_map = getattr(transform, "value_map", None)
    channels = len(value_map.divisor) if value_map and isinstance(value_map.divisor, tuple) else 0
    shape = (12, channels, 64, 64) if channels > 1 else (12, 64, 64)  # RGB or silhouettes
    return torch.randint(0, 256, shape, dtype=torch.uint8), (5, 7)


@pytest.mark.parametrize("name", names("transform"))
def test_every_transform_keeps_the_batch_contract(name: str) -> None:
    """Built from its defaults; the loader's batch call and the eager call agree on shapes,
    keep uint8, and draw the same values from the same generator."""
    transform = built_transform(name)
    frames, lengths = example_batch(transform)
    if name == "Compose":
        outputs = [transform(frames.numpy()) for _ in range(2)]
        assert all(isinstance(out, np.ndarray) and len(out) == 12 for out in outputs)
        return
    first = transform.apply_batch(frames.clone(), lengths, torch.Generator().manual_seed(3))
    again = transform.apply_batch(frames.clone(), lengths, torch.Generator().manual_seed(3))
    # uint8 kept (values are mapped later, on the device), or float32 where a transform must
    # decide values itself (BaseParsingCuttingTransform); poses keep their float dtype
    assert first.dtype in (torch.uint8, torch.float32, frames.dtype)
    assert first.shape[0] == sum(transform.output_lengths(lengths))  # frames first
    assert torch.equal(first, again), f"{name}: the same generator must give the same frames"
    if transform.frame_kind == "images":
        assert first.dim() == frames.dim()
    eager = transform(frames[: lengths[0]].numpy(), torch.Generator().manual_seed(3))
    assert isinstance(eager, np.ndarray)
    eager_frames = transform.output_lengths(lengths[:1])[0]
    assert eager.shape[transform.frame_axis] == eager_frames  # OpenGait's layout
    assert eager.ndim == first.dim()


# --- samplers ---------------------------------------------------------------------------


def batch_size_for(cls: type) -> object:
    """A batch size of the form the sampler's ``batch_size`` annotation asks for."""
    hint = typing.get_type_hints(cls.__init__).get("batch_size")
    return [2, 2] if typing.get_origin(hint) is list else 4


@pytest.mark.parametrize("name", names("sampler"))
def test_every_sampler_yields_batches_of_dataset_indices(name: str, tiny_dataset) -> None:
    from gaitgen.runtime.data.dataset import GaitDataSet

    root, partition = tiny_dataset
    dataset = GaitDataSet(
        {"dataset_root": str(root), "dataset_partition": str(partition), "dataset_name": "tiny"},
        training=True,
    )
    cls = get("sampler", name)
    sampler = cls(dataset, batch_size=batch_size_for(cls))
    batches = []
    for batch in sampler:
        batches.append(list(getattr(batch, "items", batch)))
        if len(batches) == 3:
            break
    assert batches, f"{name} yielded nothing"
    for batch in batches:
        assert batch and all(0 <= int(index) < len(dataset) for index in batch), batch


# --- backbones ----------------------------------------------------------------------------


def zoo_backbone_blocks() -> dict[str, dict]:
    """One backbone_cfg of each type the zoo's configs use (the arguments a real model gives)."""
    blocks: dict[str, dict] = {}
    for path in sorted(Path(ZOO_DIR).glob("*.yaml")):
        block = (yaml.safe_load(path.read_text()).get("model_cfg") or {}).get("backbone_cfg")
        if isinstance(block, dict):
            blocks.setdefault(block["type"], block)
    return blocks


@pytest.mark.parametrize("name", names("backbone"))
def test_every_backbone_builds_and_maps_its_example_input(name: str) -> None:
    required = [
        p for p, d in signature_of(get("backbone", name)).defaults.items() if d is inspect._empty
    ]
    cls = get("backbone", name)
    block = zoo_backbone_blocks().get(name) or {"type": name, **cls.example_arguments}
    missing = [p for p in required if p not in block]
    assert not missing, (
        f"{name} needs {missing}: give them defaults, example_arguments, or use it in a zoo "
        "config, so that it can be built here"
    )
    backbone = build("backbone", block).eval()
    with torch.no_grad():  # frames [2, 1, 64, 44], or e.g. poses for ResGCN
        out = backbone(*backbone.example_inputs())
    assert out.dim() == backbone.output_dims and out.shape[0] == 2 and torch.isfinite(out).all()


# --- losses -------------------------------------------------------------------------------

EXAMPLE_ARGUMENTS = {
    "embeddings": lambda n: torch.randn(n, 16, 4, requires_grad=True),
    "logits": lambda n: torch.randn(n, 5, 4, requires_grad=True),
    "labels": lambda n: torch.tensor([0, 0, 1, 1, 2, 2, 3, 3][:n]),
    "features": lambda n: torch.randn(n, 2, 16, requires_grad=True),  # [n, views, c]
}
# the same arguments of a per-pixel loss (input_dims 4: BinaryCrossEntropyLoss's
# probabilities and masks, [n, 1, h, w])
PIXEL_ARGUMENTS = {
    "logits": lambda n: torch.rand(n, 1, 8, 8).clamp(0.05, 0.95).requires_grad_(),
    "labels": lambda n: (torch.rand(n, 1, 8, 8) > 0.5).float(),
}


def example_argument(loss_fn, arg: str, n: int) -> torch.Tensor:
    """An example value of a loss's argument, of the dimensions the loss declares."""
    if getattr(loss_fn, "input_dims", {}).get(arg) == 4:
        return PIXEL_ARGUMENTS[arg](n)
    return EXAMPLE_ARGUMENTS[arg](n)


@pytest.mark.parametrize("name", names("loss"))
def test_every_loss_gives_a_finite_scalar_with_a_gradient(name: str) -> None:
    loss_fn = build("loss", {"type": name})
    wanted = signature_of(loss_fn.forward).defaults
    missing = [arg for arg in wanted if arg not in EXAMPLE_ARGUMENTS]
    assert not missing, f"{name}.forward takes {missing}: add an example to EXAMPLE_ARGUMENTS"
    arguments = {arg: example_argument(loss_fn, arg, 8) for arg in wanted}
    loss, info = loss_fn(**arguments)
    # a scalar, or one value per part as OpenGait's losses give (the aggregator takes the mean)
    assert loss.dim() <= 1 and torch.isfinite(loss).all() and isinstance(info, dict)
    loss.mean().backward()
    assert any(
        value.grad is not None and value.grad.abs().sum() > 0
        for value in arguments.values()
        if value.requires_grad
    ), f"{name}: no gradient reaches its inputs"


# --- dataset generators ------------------------------------------------------------------


@pytest.mark.parametrize("name", names("generator"))
def test_every_dataset_generator_writes_a_loadable_dataset(name: str, tmp_path: Path) -> None:
    import json

    from gaitgen.runtime.data.dataset import GaitDataSet

    block = {"generator": name, "subjects": 3, "frames": 4}
    if "views" in signature_of(get("generator", name)).defaults:
        block["views"] = ["000", "090"]
    partition = build("generator", block).generate(tmp_path / "data", tmp_path / "part.json")
    split = json.loads(Path(partition).read_text())
    assert set(split) == {"TRAIN_SET", "TEST_SET"} and split["TRAIN_SET"]
    dataset = GaitDataSet(
        {"dataset_root": str(tmp_path / "data"), "dataset_partition": str(partition)},
        training=True,
    )
    assert len(dataset) > 0
