"""Every config, model and loss of this project works: tests found on disk, none to write.

A new file in configs/, <package>/models/ or <package>/losses/ gets its tests here without
anyone writing them (as timm tests every registered model). Per-component tests that
`gaitgen new-model` / `new-loss` generate sit beside this file for your own checks.
"""

import importlib
import inspect
from pathlib import Path

import pytest
import yaml
from gaitgen.runtime import testing
from gaitgen.runtime.components.scan import project_components
from gaitgen.runtime.project import require_project

PROJECT = require_project(Path(__file__).resolve().parent)
CONFIGS = sorted(PROJECT.configs_dir.glob("*.yaml"))
MODELS = project_components(PROJECT, "model")
LOSSES = project_components(PROJECT, "loss")


def _load_class(component):
    folder = "models" if component.kind == "model" else "losses"
    module = importlib.import_module(f"{PROJECT.package}.{folder}.{component.path.stem}")
    return getattr(module, component.name)


def _model_of(config):
    return (yaml.safe_load(config.read_text()) or {}).get("model_cfg", {}).get("model")


@pytest.mark.parametrize("config", CONFIGS, ids=[path.name for path in CONFIGS])
def test_config_trains(config):
    testing.check_config(config)  # optimiser steps: finite losses, parameters that change
    # {log_prefix: size of the gradient that loss alone sends into the model}, one per loss
    gradients = testing.loss_gradients(config)
    assert gradients and all(size > 0 for size in gradients.values()), gradients


@pytest.mark.parametrize("model", MODELS, ids=[model.name for model in MODELS])
def test_model_forward(model):
    configs = [config for config in CONFIGS if _model_of(config) == model.name]
    if not configs:
        pytest.skip(f"no config in configs/ uses {model.name} (gaitgen new-model makes one)")
    testing.check_model(_load_class(model), configs[0])


@pytest.mark.parametrize("loss", LOSSES, ids=[loss.name for loss in LOSSES])
def test_loss(loss):
    cls = _load_class(loss)
    # pairwise losses take the embeddings [n, c, p], the others the logits [n, classes, p]
    pairwise = "embeddings" in inspect.signature(cls.forward).parameters
    _, info = testing.check_loss(cls, pairwise=pairwise)
    assert "loss" in info
