"""Every evaluation function at its datasets' test-set sizes, beside OpenGait's own.

Run through ``python benchmarks/bench_evaluation.py --functions [NAME ...] [--opengait DIR]``.
The functions are read from gaitgen's table (``runtime/evaluation/functions.py``), so one
added there is timed here too: on the datasets it names, its preset's, a preset of its kind,
or :data:`DATASET_OF`; a function none of these gives a layout for is listed as such.

Inputs are random (features ``[N, 256, 16]`` float32, metric euc; ScoNet's logits
``[N, 3, 16]``; segmentation masks ``[frames, 1, 64, 64]``) in each dataset's layout
(types, views, label scheme) at its test-set size, from OpenGait's partition files
(``datasets/<name>/<name>.json``) and the datasets' papers; ``~`` marks sizes that are
estimates (:data:`LAYOUTS`). Each case runs in a fresh subprocess (time, peak resident
memory of that process). OpenGait's function runs, with ``--opengait``, in its own
subprocess: its ``opengait/`` folder on ``sys.path``, CUDA calls kept on the CPU
(``Tensor.cuda`` returns the tensor), its logger silenced, and the modules its package
imports for training only (torchvision, tensorboard) stubbed when absent; its files go to
a scratch folder.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHANNELS, PARTS = 256, 16

# dataset -> (sequences or frames, note); "~": an estimate
LAYOUTS = {
    "CASIA-B": (5_500, "50 ids x 10 types x 11 views"),
    "CCPG": (8_400, "~ 100 ids x 7 types x 12 views (CCPG: 16,566 seqs of 200 ids, half test)"),
    "GREW": (24_000, "6,000 ids: 12,000 gallery (01, 02) + 12,000 probes (03)"),
    "HID": (5_080, "~ 508 ids: 1,270 gallery + 3,810 probes (10 seqs per id, 25% gallery)"),
    "Gait3D": (6_369, "1,000 ids: 1,000 probes + 5,369 gallery"),
    "CCGR-MINI": (16_000, "~ 400 ids x 40 seqs, 795 of them the GALLERY_SET"),
    "FreeGait": (4_262, "695 ids: 3,571 PROBE_SET + 691 gallery"),
    "Scoliosis1K": (748, "748 test sequences (Scoliosis1K_1116.json), logits [N, 3, 16]"),
    "CASIA-B*": (10_000, "10,000 frames [1, 64, 64] (time is linear in frames)"),
}
# functions that name no dataset, no preset and no protocol kind
DATASET_OF = {"evaluate_scoliosis": "Scoliosis1K", "evaluate_segmentation": "CASIA-B*"}
KIND_DATASET = {"view": "CASIA-B", "any": "CASIA-B", "real_scene": "GREW"}


def cases(names: list[str]) -> list[tuple[str, str | None, bool]]:
    """``(function, dataset, rerank)`` for every function of the table (or those named);
    dataset ``None``: no layout fits."""
    from gaitgen.runtime.evaluation.functions import EVAL_FUNCS

    out = []
    for name, function in EVAL_FUNCS.items():
        if names and name not in names:
            continue
        wanted = list(function.datasets or ())
        if function.preset:
            wanted.append(function.preset)
        if function.protocol_kind in KIND_DATASET:
            wanted.append(KIND_DATASET[function.protocol_kind])
        if name in DATASET_OF:
            wanted.append(DATASET_OF[name])
        dataset = next((d for d in wanted if d in LAYOUTS), None)
        out.append((name, dataset, False))
        if dataset and dict(function.defaults).get("rerank"):
            out.append((name, dataset, True))  # re-ranked too: OpenGait's default there
    return out


def make_inputs(dataset: str, scale: float = 1.0) -> tuple[dict, dict | None]:
    """OpenGait's input dict (``embeddings``, ``labels``, ``types``, ``views``; ``pred`` and
    ``mask`` for segmentation) and the partition, for ``dataset``'s layout, its number of
    subjects (or frames) times ``scale``."""
    import numpy as np

    rng = np.random.default_rng(0)

    def count(full: int) -> int:
        return max(4, round(full * scale))

    partition = None
    if dataset == "CASIA-B*":
        frames = count(LAYOUTS[dataset][0])
        mask = (rng.random((frames, 1, 64, 64)) < 0.3).astype(np.float32)
        pred = (rng.random((frames, 1, 64, 64)) < 0.3).astype(np.float32)
        return {"pred": pred, "mask": mask, "labels": [], "types": [], "views": []}, None
    if dataset == "CASIA-B":
        types = [f"nm-0{i}" for i in range(1, 7)] + ["bg-01", "bg-02", "cl-01", "cl-02"]
        rows = [(f"{i:03d}", t, f"{v:03d}") for i in range(count(50)) for t in types for v in range(0, 181, 18)]  # fmt: skip
    elif dataset == "CCPG":
        types = ["U0_D0", "U0_D0_BG", "U0_D3", "U1_D0", "U1_D1", "U2_D2", "U3_D3"]
        views = [f"{c:02d}_{k}" for c in (1, 4, 5, 7, 9, 10) for k in (1, 2)]
        rows = [(f"{i:03d}", t, v) for i in range(count(100)) for t in types for v in views]
    elif dataset == "GREW":
        kinds = (("01", 0), ("02", 0), ("03", 0), ("03", 1))
        rows = [(f"{i:05d}", t, f"{i:05d}{t}{k}") for i in range(count(6000)) for t, k in kinds]
    elif dataset == "HID":
        ids = count(508)
        rows = [(f"{i % ids:04d}", "00", "default") for i in range(round(ids * 2.5))]
        rows += [("probe", "01", f"{j:08x}") for j in range(round(ids * 7.5))]
    elif dataset == "Scoliosis1K":
        classes = ("negative", "neutral", "positive")
        rows = [(f"{i:04d}", classes[i % 3], "000") for i in range(count(748))]
    else:  # Gait3D, FreeGait, CCGR-MINI: ids with sequences; the partition names the split
        full_ids, per_id, key, named = {
            "Gait3D": (1000, 6.369, "PROBE_SET", 1000),
            "FreeGait": (695, 6.133, "PROBE_SET", 3571),
            "CCGR-MINI": (400, 40, "GALLERY_SET", 795),
        }[dataset]
        ids = count(full_ids)
        rows = [(f"{j % ids:04d}", f"camid{j % 4}", f"seq{j}") for j in range(round(ids * per_id))]  # fmt: skip
        named = max(1, round(named * ids / full_ids))
        partition = {key: ["-".join(row) for row in rows[:named]]}
    channels = 3 if dataset == "Scoliosis1K" else CHANNELS
    feature = rng.standard_normal((len(rows), channels, PARTS), dtype=np.float32)
    label, type_, view = (list(column) for column in zip(*rows, strict=True))
    return {"embeddings": feature, "labels": label, "types": type_, "views": view}, partition


def time_gaitgen(function: str, dataset: str, rerank: bool, device: str, scale: float) -> tuple:
    import numpy as np
    from gaitgen.runtime.evaluation import EvalData, EvalSettings, evaluate_function

    inputs, partition = make_inputs(dataset, scale)
    arrays = {k: inputs[k] for k in ("pred", "mask") if k in inputs}
    data = EvalData(
        inputs.get("embeddings"), *(np.asarray(inputs[k], str) for k in ("labels", "types", "views")),  # fmt: skip
        arrays=arrays,
    )
    with tempfile.TemporaryDirectory() as scratch:
        settings = EvalSettings(rerank=rerank, partition=partition, device=device, out_dir=Path(scratch))  # fmt: skip
        start = time.perf_counter()
        evaluate_function(function, data, dataset, settings)
        return time.perf_counter() - start, _size(inputs)


def time_opengait(function: str, dataset: str, rerank: bool, scale: float, folder: str) -> tuple:
    import inspect
    import os
    import types

    import torch

    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # OpenGait's CUDA calls, on the CPU

    class Stub(types.ModuleType):  # any name it is asked for, but not the import system's
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return object

    for module, needed in (
        ("torchvision", "utils"), ("torchvision.utils", "make_grid"),
        ("torch.utils.tensorboard", "SummaryWriter"),
    ):  # fmt: skip
        try:
            getattr(__import__(module, fromlist=[needed]), needed)
        except (ImportError, AttributeError):
            sys.modules[module] = Stub(module)
    sys.path.insert(0, str(Path(folder).resolve()))
    from evaluation import evaluator  # OpenGait's

    evaluator.get_msg_mgr = lambda: types.SimpleNamespace(log_info=lambda *a, **k: None)
    run = getattr(evaluator, function, None)
    if run is None:
        raise SystemExit(f"OpenGait has no {function}")
    inputs, partition = make_inputs(dataset, scale)
    if "pred" in inputs:
        inputs = {"pred": torch.from_numpy(inputs["pred"]), "mask": torch.from_numpy(inputs["mask"])}  # fmt: skip
    kwargs = {"metric": "euc"} if "metric" in inspect.signature(run).parameters else {}
    if "rerank" in inspect.signature(run).parameters:
        kwargs["rerank"] = rerank
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        if partition is not None:
            target = Path("datasets", dataset, f"{dataset}.json")
            target.parent.mkdir(parents=True)
            target.write_text(json.dumps(partition))
        start = time.perf_counter()
        run(inputs, dataset, **kwargs)
        return time.perf_counter() - start, _size(inputs)


def _size(inputs: dict) -> int:
    return len(inputs["pred"]) if "pred" in inputs else len(inputs["labels"])


def child(args: list[str]) -> None:
    """``SIDE FUNCTION DATASET RERANK DEVICE THREADS SCALE [OPENGAIT]``: one case; prints
    its JSON."""
    side, function, dataset, rerank, device, threads, scale = args[:7]
    import torch

    if int(threads):
        torch.set_num_threads(int(threads))
    if side == "gaitgen":
        seconds, size = time_gaitgen(function, dataset, rerank == "1", device, float(scale))
    else:
        seconds, size = time_opengait(function, dataset, rerank == "1", float(scale), args[7])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"seconds": seconds, "peak_gb": peak, "size": size}))


def _run(side: str, case: tuple, device: str, threads: int, scale: float, opengait: str | None) -> tuple[str, int | None]:  # fmt: skip
    """``(time and peak memory, or why it failed; sequences)`` of one side of a case."""
    function, dataset, rerank = case
    command = [sys.executable, __file__, side, function, dataset, str(int(rerank)), device,
               str(threads), str(scale)] + ([opengait] if opengait else [])  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][-60:], None
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return f"{found['seconds']:8.2f} s {found['peak_gb']:5.2f} GB", found["size"]


def bench_functions(
    names: list[str], device: str, threads: int, opengait: str | None, scale: float = 1.0
) -> None:
    """Print one line per (function, dataset): gaitgen's time and peak memory, OpenGait's."""
    import torch

    print(f"device {device}, torch {torch.__version__}, "
          f"{threads or torch.get_num_threads()} threads; metric euc")  # fmt: skip
    print(f"{'function':<26}{'dataset':<13}{'N':>7}  {'gaitgen':<19}  OpenGait")
    for case in cases(names):
        function, dataset, rerank = case
        label = function + (" +rerank" if rerank else "")
        if dataset is None:
            print(f"{label:<26}no layout: add its dataset to LAYOUTS/DATASET_OF in {Path(__file__).name}")  # fmt: skip
            continue
        ours, size = _run("gaitgen", case, device, threads, scale, None)
        theirs = _run("opengait", case, device, threads, scale, opengait)[0] if opengait else "not run"  # fmt: skip
        print(f"{label:<26}{dataset:<13}{size or '-':>7}  {ours:<19}  {theirs}", flush=True)
    print()
    for dataset, (size, note) in LAYOUTS.items():
        print(f"  {dataset}: {size:,} ({note})")


if __name__ == "__main__":
    child(sys.argv[1:])
