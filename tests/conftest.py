"""Shared fixtures: a tiny dataset, a tiny project and a small CPU config."""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _fresh_cli_state():
    """``gaitgen --debug`` sets the root command's state for the commands below it; a test
    that invoked it must not leave it on for the next test's error handling."""
    from gaitgen.cli.common import STATE

    yield
    STATE.debug = False


@pytest.fixture(autouse=True)
def _dataset_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    """Generated datasets are cached in a folder of the test's own, never in the real home
    (``GAITGEN_CACHE_DIR``, read by gaitgen/runtime/synth/cache.py; subprocesses inherit it)."""
    folder = tmp_path_factory.mktemp("gaitgen-cache")
    monkeypatch.setenv("GAITGEN_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(root, partition) of a tiny synthetic dataset: 6 ids (4 train), 3 views, 12 frames."""
    from gaitgen.runtime.tiny_data import generate_dataset

    root = tmp_path_factory.mktemp("data") / "tiny"
    partition = generate_dataset(root, subjects=6, frames=12, seed=0)
    return root, partition


def small_config(
    root: Path, partition: Path, model: str = "Baseline", total_iter: int = 4, extra: str = ""
) -> str:
    """A complete, CPU-sized config over the tiny dataset."""
    return textwrap.dedent(f"""\
        data_cfg:
          dataset_name: tiny
          dataset_root: {root}
          dataset_partition: {partition}
          num_workers: 0
          test_dataset_name: CASIA-B
        loss_cfg:
          - {{type: TripletLoss, margin: 0.2, log_prefix: triplet, loss_term_weight: 1.0}}
          - {{type: CrossEntropyLoss, scale: 16, log_prefix: softmax, log_accuracy: true}}
        model_cfg:
          model: {model}
          backbone_cfg: {{type: ResNet9, block: BasicBlock, channels: [8, 16, 32, 64],
                         layers: [1, 1, 1, 1], strides: [1, 2, 2, 1], maxpool: false}}
          SeparateFCs: {{in_channels: 64, out_channels: 32, parts_num: 16}}
          SeparateBNNecks: {{class_num: 4, in_channels: 32, parts_num: 16}}
          bin_num: [16]
        optimizer_cfg: {{solver: SGD, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}}
        scheduler_cfg: {{scheduler: MultiStepLR, milestones: [1000], gamma: 0.1}}
        trainer_cfg:
          enable_float16: false
          log_iter: 2
          save_iter: 2
          save_name: small
          total_iter: {total_iter}
          sampler: {{type: TripletSampler, batch_size: [2, 2], frames_num_fixed: 8,
                    sample_type: fixed_unordered}}
          transform: [{{type: BaseSilCuttingTransform}}]
        evaluator_cfg:
          save_name: small
          sampler: {{type: InferenceSampler, batch_size: 8, sample_type: all_ordered}}
          transform: [{{type: BaseSilCuttingTransform}}]
        """) + extra


@pytest.fixture
def small_config_file(tmp_path: Path, tiny_dataset: tuple[Path, Path]) -> Path:
    root, partition = tiny_dataset
    path = tmp_path / "small.yaml"
    path.write_text(small_config(root, partition))
    return path


@pytest.fixture(scope="session")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project made once by ``gaitgen init demo --defaults``; tests work on copies."""
    from typer.testing import CliRunner

    from gaitgen.cli.app import app

    parent = tmp_path_factory.mktemp("init")
    result = CliRunner().invoke(app, ["init", str(parent / "demo"), "--defaults"])
    assert result.exit_code == 0, result.output
    return parent / "demo"


@pytest.fixture
def project(pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the pristine ``gaitgen init`` project (package ``demo``), the working folder."""
    import shutil

    root = tmp_path / "demo"
    shutil.copytree(pristine, root)
    monkeypatch.chdir(root)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (``__pycache__`` aside) and its bytes: to assert nothing changed."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def make_project(root: Path, package: str = "mygait") -> Path:
    """A minimal gaitgen project folder (pyproject with [tool.gaitgen])."""
    (root / package / "models").mkdir(parents=True)
    (root / package / "losses").mkdir(parents=True)
    (root / "configs").mkdir()
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{package}"\nversion = "0"\n\n[tool.gaitgen]\npackage = "{package}"\n'
    )
    return root


def opengait_listing(config_name: str) -> dict:
    """OpenGait's listing of one of its config files: ``model``, ``params``, ``state_dict``.

    ``config_name`` is the path under OpenGait's ``configs/`` (``"gaitset/gaitset.yaml"``).
    The listings of the seven silhouette families (gaitbase, gaitset, gaitpart, gln, gaitgl,
    deepgaitv2, swingait), of the seven of the other body representations (skeletongait,
    gaitgraph1, gaitgraph2, gaittr, msgg, smplgait, parsinggait) and of sconet were copied from
    ../shared/parity/state_dicts.json into fixtures/opengait/state_dicts.json.gz; ``state_dict``
    is what an OpenGait checkpoint of that config holds. Listings of configs whose model_cfg
    no test has inline also hold it (``model_cfg``). Do not modify the dict.
    """
    return _opengait_listings()[config_name]


@functools.cache
def _opengait_listings() -> dict[str, dict]:
    import gzip
    import json

    with gzip.open(FIXTURES / "opengait" / "state_dicts.json.gz", "rt") as handle:
        return json.load(handle)


def opengait_state_dict(config_name: str) -> dict[str, list[int]]:
    """OpenGait's state-dict listing (key -> shape) for one of its config files
    (:func:`opengait_listing`)."""
    return opengait_listing(config_name)["state_dict"]


def state_dict_shapes(model) -> dict[str, list[int]]:
    """A model's state dict as key -> shape, comparable with :func:`opengait_state_dict`."""
    return {key: list(value.shape) for key, value in model.state_dict().items()}


PARITY_FIXTURES = FIXTURES / "opengait" / "parity"


@functools.cache
def parity_fixture(name: str) -> dict:
    """OpenGait's recorded outputs for one small model, shipped in fixtures/opengait/parity.

    ``name`` is the file stem (``"GaitSet"``, ``"DeepGaitV2-3d"``). The dict holds
    ``model_cfg`` (gaitgen's model name in ``model``), ``opengait_class``, ``state_dict``
    (OpenGait's weights), ``inputs`` (``ipts``: float32 tensors, one per modality; ``labs``;
    where recorded ``typs``, ``viws``, ``seqL``), ``outputs`` (``eval`` and ``train``:
    ``"training_feat/<prefix>/<arg>"`` or ``"inference_feat/<key>"`` -> tensor) and, where
    recorded, ``eval_n``, ``forward_seed`` and ``train_inputs`` (the train forward's
    ``((ipts_q, ipts_k), labs, typs, viws, (seqL_q, seqL_k))`` parts). fixtures/opengait/make_parity_fixtures.py made
    the files; do not modify the tensors returned (the dict is cached).
    """
    import io
    import lzma

    import torch

    path = PARITY_FIXTURES / f"{name}.pt.xz"
    record = torch.load(io.BytesIO(lzma.decompress(path.read_bytes())), weights_only=True)
    ipts = record["inputs"]["ipts"]
    compacted = (torch.bool, torch.uint8)  # binary maps and whole-number maps (parsing labels)
    record["inputs"]["ipts"] = [x.float() if x.dtype in compacted else x for x in ipts]
    if "train_inputs" in record:  # GaitSSB_Pretrain's two views, compacted the same way
        views = record["train_inputs"]["ipts"]
        record["train_inputs"]["ipts"] = [
            [x.float() if x.dtype in compacted else x for x in view] for view in views
        ]
    return record


def pkl_files(root: Path) -> dict[str, bytes]:
    """Every ``.pkl`` below ``root`` and its bytes (a SynthGait dataset, compared whole)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.pkl"))}


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-subject SynthGait (views 000 and 090, 6 frames, seed 5), made once per module."""
    from gaitgen.runtime.synth import generate_dataset

    root = tmp_path_factory.mktemp("synth") / "data"
    generate_dataset(root, subjects=3, views=["000", "090"], frames=6, seed=5)
    return root


def load_benchmark(name: str):
    """The module of ``benchmarks/<name>.py`` (the benchmarks are scripts, not a package; as
    when one runs, its folder is on ``sys.path`` for the others it imports)."""
    import importlib.util
    import sys

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    path = folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
