"""The experiment loggers the summary writer (:mod:`.summary`) feeds: TensorBoard, Weights &
Biases and MLflow, each through its own library (``pip install 'gaitgen[wandb]'``, ...).

``trainer_cfg.loggers`` names them (several at once); the config check refuses one whose
library is missing before the run starts (:func:`gaitgen.runtime.config.typecheck.check_loggers`).
Each backend gets the same four things: the scalars of a log iteration, the resolved config
once, the test results (the figures of ``results.json``) and ``close``; TensorBoard also the
image grids. Where each library writes is its own setting:

- TensorBoard: event files in the run's ``summary/`` folder (``tensorboard --logdir output/``).
- Weights & Biases: the project ``$WANDB_PROJECT`` (default ``gaitgen``), files under
  ``summary/wandb/``; ``WANDB_MODE=offline`` keeps everything on the machine (``wandb sync``
  uploads it later).
- MLflow: the tracking store ``$MLFLOW_TRACKING_URI`` (MLflow's default: ``./mlruns``), the
  experiment ``$MLFLOW_EXPERIMENT_NAME`` (default ``gaitgen``).

A resumed run (and ``gaitgen test`` of it) goes on logging into the same W&B or MLflow run:
its id is kept in ``summary/wandb-run-id`` / ``summary/mlflow-run-id``.
"""

from __future__ import annotations

import importlib
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..config import dump_config, yaml_load
from ..errors import GaitgenError

DEFAULT_PROJECT = "gaitgen"  # W&B project and MLflow experiment when the environment names none

# what to try when a logger's library cannot start a run
START_HINTS = {
    "tensorboard": "check that the run's summary/ folder is writable",
    "wandb": "run 'wandb login', or set WANDB_MODE=offline to log on this machine only",
    "mlflow": "check MLFLOW_TRACKING_URI (unset: MLflow's own default, a store in the "
    "working folder) and that its server answers",
}


class Backend(ABC):
    """One experiment logger; only rank 0 opens one."""

    #: its name in trainer_cfg.loggers
    name = ""
    #: whether :meth:`image` logs anything (the writer skips encoding grids for none)
    takes_images = False

    @abstractmethod
    def scalars(self, values: dict[str, float], iteration: int) -> None:
        """Log the scalars of one iteration (``triplet/loss``, ``learning_rate``, ...)."""

    def image(self, name: str, grid: Any, iteration: int) -> None:
        """Log one image grid ``[c, H, W]`` in [0, 1] (backends with ``takes_images``)."""
        raise TypeError(f"{type(self).__name__} logs no images")

    @abstractmethod
    def config(self, cfgs: Mapping[str, Any]) -> None:
        """Log the resolved config (at the start of each training segment and each test)."""

    @abstractmethod
    def results(self, figures: dict[str, float], record: Mapping[str, Any], iteration: int) -> None:
        """Log a test's results: ``figures`` (``NM/rank1`` -> percent) and the whole
        ``results.json`` object (``record``), for the checkpoint of ``iteration``."""

    @abstractmethod
    def close(self) -> None:
        """Flush and end the run."""


def open_backends(names: list[str], folder: Path, run_name: str) -> list[Backend]:
    """The backends ``trainer_cfg.loggers`` names, in order, each started.

    Args:
        names: logger names (``tensorboard``, ``wandb``, ``mlflow``), checked by the config.
        folder: the run's ``summary/`` folder (exists).
        run_name: the run's name in W&B and MLflow (``<dataset>/<model>/<save_name>``).
    """
    makers = {"tensorboard": TensorBoardBackend, "wandb": WandbBackend, "mlflow": MlflowBackend}
    backends: list[Backend] = []
    try:
        for name in dict.fromkeys(names):  # each once, in order
            try:
                backends.append(makers[name](folder, run_name))
            except (GaitgenError, ImportError):
                raise
            except Exception as exc:  # the library's own error: not logged in, no server, ...
                raise GaitgenError(
                    f"trainer_cfg.loggers: {name} could not start a run "
                    f"({type(exc).__name__}: {exc}); {START_HINTS[name]}, or remove {name} "
                    "from trainer_cfg.loggers"
                ) from exc
    except BaseException:
        for backend in backends:
            backend.close()
        raise
    return backends


def flat(cfgs: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"trainer_cfg": {"total_iter": 5}}`` -> ``{"trainer_cfg.total_iter": 5}`` (list
    entries by index)."""
    out: dict[str, Any] = {}
    items = cfgs.items() if isinstance(cfgs, Mapping) else enumerate(cfgs)
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, (Mapping, list)) and value:
            out.update(flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _run_id(folder: Path, name: str) -> str | None:
    """The id of the run an earlier segment of this run logged into, if any."""
    path = folder / f"{name}-run-id"
    return (path.read_text(encoding="utf-8").strip() or None) if path.is_file() else None


def _keep_run_id(folder: Path, name: str, run_id: str) -> None:
    atomic_write_text(folder / f"{name}-run-id", run_id + "\n")


class TensorBoardBackend(Backend):
    """TensorBoard event files in the ``summary/`` folder (through torch's writer)."""

    name = "tensorboard"
    takes_images = True

    def __init__(self, folder: Path, run_name: str = "") -> None:
        from torch.utils.tensorboard import SummaryWriter as TensorBoardWriter

        self._writer = TensorBoardWriter(str(folder))

    def scalars(self, values: dict[str, float], iteration: int) -> None:
        for key, value in values.items():
            self._writer.add_scalar(key, value, iteration)

    def image(self, name: str, grid: Any, iteration: int) -> None:
        self._writer.add_image(name, grid, iteration)

    def config(self, cfgs: Mapping[str, Any]) -> None:
        self._writer.add_text("config", "```yaml\n" + dump_config(cfgs) + "```")

    def results(self, figures: dict[str, float], record: Mapping[str, Any], iteration: int) -> None:
        self.scalars({f"results/{key}": value for key, value in figures.items()}, iteration)

    def close(self) -> None:
        self._writer.close()


class WandbBackend(Backend):
    """A Weights & Biases run (``wandb.init`` ... ``run.finish``)."""

    name = "wandb"

    def __init__(self, folder: Path, run_name: str) -> None:
        wandb = importlib.import_module("wandb")
        run_id = _run_id(folder, "wandb") or uuid.uuid4().hex[:12]
        self._run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
            name=run_name,
            id=run_id,
            resume="allow",
            dir=str(folder),
        )
        _keep_run_id(folder, "wandb", run_id)

    def scalars(self, values: dict[str, float], iteration: int) -> None:
        self._run.log(dict(values), step=iteration)

    def config(self, cfgs: Mapping[str, Any]) -> None:
        self._run.config.update(_plain_config(cfgs), allow_val_change=True)

    def results(self, figures: dict[str, float], record: Mapping[str, Any], iteration: int) -> None:
        self._run.summary.update({f"results/{key}": value for key, value in figures.items()})
        self._run.summary.update({"results/iteration": iteration})

    def close(self) -> None:
        self._run.finish()


# MLflow keys may hold letters, digits, _ - . / and spaces only
_MLFLOW_UNSAFE = re.compile(r"[^\w\-./ ]")
# the longest parameter value every MLflow store keeps
MLFLOW_PARAM_CHARS = 250


class MlflowBackend(Backend):
    """An MLflow run (``mlflow.start_run`` ... ``mlflow.end_run``) in the tracking store of
    ``$MLFLOW_TRACKING_URI``."""

    name = "mlflow"

    def __init__(self, folder: Path, run_name: str) -> None:
        self._mlflow = importlib.import_module("mlflow")
        self._mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_PROJECT)
        run_id = _run_id(folder, "mlflow")
        self._new = run_id is None  # MLflow refuses to change a parameter of a run
        active = self._mlflow.start_run(run_id=run_id, run_name=None if run_id else run_name)
        _keep_run_id(folder, "mlflow", active.info.run_id)

    def scalars(self, values: dict[str, float], iteration: int) -> None:
        metrics = {_MLFLOW_UNSAFE.sub("_", key): value for key, value in values.items()}
        self._mlflow.log_metrics(metrics, step=iteration)

    def config(self, cfgs: Mapping[str, Any]) -> None:
        plain = _plain_config(cfgs)
        self._mlflow.log_dict(plain, "config.yaml")  # the latest segment's, whole
        if not self._new:
            return  # a resumed run keeps the parameters it started with
        self._new = False
        self._mlflow.log_params(
            {
                _MLFLOW_UNSAFE.sub("_", key): str(value)[:MLFLOW_PARAM_CHARS]
                for key, value in flat(plain).items()
            }
        )

    def results(self, figures: dict[str, float], record: Mapping[str, Any], iteration: int) -> None:
        self.scalars({f"results/{key}": value for key, value in figures.items()}, iteration)
        self._mlflow.log_dict(dict(record), "results.json")

    def close(self) -> None:
        self._mlflow.end_run()


def _plain_config(cfgs: Mapping[str, Any]) -> dict[str, Any]:
    """The config as the YAML the run folder keeps holds it (paths as strings)."""
    return yaml_load(dump_config(cfgs))
