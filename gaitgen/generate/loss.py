"""``gaitgen new-loss NAME``: a loss file, its test, and optionally its entry in a config.

A loss runs on the ``training_feat`` entry of its ``log_prefix``, or, with ``inputs_from``,
on the arguments the model returns for another loss (the rule:
:mod:`gaitgen.runtime.losses.routing`). So ``--config`` wires the new loss into any model,
generated, built-in, ``--from`` or ported, by editing the config alone: the entry takes
``inputs_from`` the first loss of the config whose ``forward`` has the argument the new loss
needs (``embeddings`` for a pairwise loss, ``logits`` for a per-sample one), found by reading
the loss classes without importing them. The model's source is never read.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitgen.runtime.components.scan import Component, builtin_components, project_components
from gaitgen.runtime.errors import GenerateError
from gaitgen.runtime.losses.routing import INPUTS_FROM, log_prefix
from gaitgen.runtime.project import Project

from . import yaml_edit
from .names import (
    check_name_free,
    check_targets_are_text,
    module_name,
    validate_class_name,
    validate_prefix,
)
from .plan import PlannedFile
from .render import render_python
from .settings import read_settings

PAIRWISE_TEMPLATE = "loss_pairwise.py.jinja"
PER_SAMPLE_TEMPLATE = "loss_per_sample.py.jinja"
TEST_TEMPLATE = "test_loss.py.jinja"

# the parameters each template's loss takes, with the defaults its __init__ has
PAIRWISE_PARAMS: dict[str, Any] = {"margin": 1.0}
PER_SAMPLE_PARAMS: dict[str, Any] = {"scale": 16.0, "gamma": 2.0}

# the log_prefix whose arguments a new loss takes when no config says otherwise: every gaitgen
# and OpenGait model returns embeddings under "triplet" and logits under "softmax"
DEFAULT_INPUTS_FROM = {"embeddings": "triplet", "logits": "softmax"}


@dataclass
class LossPlan:
    """What ``new-loss`` will write and say.

    Attributes:
        files: the loss, its test and (with ``--config``) the edited config.
        entry: the ``loss_cfg`` entry for the new loss.
        model_input: the model output the loss takes (``embeddings`` or ``logits``).
        notes: things the user must do by hand (printed after the status lines).
    """

    files: list[PlannedFile]
    entry: dict[str, Any]
    model_input: str
    notes: list[str] = field(default_factory=list)


def loss_entry(name: str, prefix: str, pairwise: bool, inputs_from: str | None) -> dict[str, Any]:
    """The ``loss_cfg`` entry of a generated loss (``inputs_from`` left out when None)."""
    params = PAIRWISE_PARAMS if pairwise else PER_SAMPLE_PARAMS
    borrowed = {INPUTS_FROM: inputs_from} if inputs_from is not None else {}
    return {"type": name, "log_prefix": prefix, **borrowed, "loss_term_weight": 1.0, **params}


def loss_files(
    project: Project,
    name: str,
    *,
    pairwise: bool = True,
    prefix: str | None = None,
    config: Path | None = None,
    force: bool = False,
) -> LossPlan:
    """Render the files of a new loss called ``name`` (nothing is written).

    Args:
        project: the project the loss goes into.
        name: the class name, e.g. ``MyLoss``.
        pairwise: compare samples across the batch (``gather_and_scale_wrapper``, takes
            embeddings) or score each sample alone (takes logits).
        prefix: the ``log_prefix``; defaults to the name lowercased.
        config: a config to add the loss to.
        force: the caller will overwrite the loss file if it exists.

    Raises:
        GenerateError: invalid or taken name or prefix, or a config that cannot be edited.
    """
    module = module_name(name)
    name = validate_class_name(name, "loss")
    prefix = validate_prefix(prefix or module)
    loss_path = project.losses_dir / f"{module}.py"
    check_name_free(name, project, "loss", loss_path if force else None)

    settings = read_settings(project)
    context = {
        "class_name": name,
        "module_name": module,
        "package": project.package,
        "prefix": prefix,
        "pairwise": pairwise,
    }
    template = PAIRWISE_TEMPLATE if pairwise else PER_SAMPLE_TEMPLATE
    line_length = settings.line_length
    plan = LossPlan(
        files=[
            PlannedFile(loss_path, render_python(template, line_length=line_length, **context)),
            PlannedFile(
                project.tests_dir / f"test_{module}.py",
                render_python(TEST_TEMPLATE, line_length=line_length, **context),
            ),
        ],
        entry={},
        model_input="embeddings" if pairwise else "logits",
    )
    if config is None:
        plan.entry = loss_entry(name, prefix, pairwise, DEFAULT_INPUTS_FROM[plan.model_input])
    else:
        text, plan.entry, notes = add_loss_to_config(
            config, name, prefix, pairwise, plan.model_input, project
        )
        plan.files.append(PlannedFile(config.resolve(), text, edit=True))
        plan.notes += notes
    check_targets_are_text([file.path for file in plan.files])
    return plan


def add_loss_to_config(
    config: Path, name: str, prefix: str, pairwise: bool, model_input: str, project: Project
) -> tuple[str, dict[str, Any], list[str]]:
    """Return the config's new text with the new loss in ``loss_cfg``, its entry, and notes.

    The entry takes ``inputs_from`` the first loss of the config that is fed by the model
    itself and whose ``forward`` takes ``model_input``; without one, the entry has no
    ``inputs_from`` and a note says what the model must return.

    Raises:
        GenerateError: the config is missing or invalid, the prefix is taken, or the edit
            cannot be made without changing anything else.
    """
    import yaml

    where = str(config)
    if not config.is_file():
        raise GenerateError(f"--config {config}: no such file")
    text, cfgs = yaml_edit.read_config(config, where)

    notes = []
    old_losses = cfgs.get("loss_cfg")
    if old_losses is None:
        old_losses = []
        notes.append(
            f"{where} had no loss_cfg (so it trained with gaitgen's default "
            f"TripletLoss); now {name} is its only loss"
        )
    elif isinstance(old_losses, dict):
        old_losses = [old_losses]
    elif not isinstance(old_losses, list):
        raise GenerateError(
            f"{where}: loss_cfg is {old_losses!r}; expected a loss {{type: Name, ...}} or a "
            "list of them; fix it first"
        )
    for index, old in enumerate(old_losses):
        if isinstance(old, dict) and log_prefix(old) == prefix:
            raise GenerateError(
                f"{where}: loss_cfg[{index}] ({old.get('type')}) already uses log_prefix "
                f"{prefix!r}; choose another with --prefix"
            )

    source = inputs_source(old_losses, model_input, project)
    entry = loss_entry(name, prefix, pairwise, source)
    if source is None:
        notes.append(
            f"no loss in {where}'s loss_cfg takes {model_input}, so {name} reads its own "
            f'log_prefix: the model\'s training_feat must hold "{prefix}": '
            f'{{"{model_input}": ..., "labels": labs}}, or set {INPUTS_FROM} in the entry to '
            "the log_prefix of a loss whose arguments fit"
        )
    new_text = yaml_edit.append_list_item(text, "loss_cfg", entry, where)
    expected = copy.deepcopy(cfgs)
    expected["loss_cfg"] = [*old_losses, entry]
    if yaml.safe_load(new_text) != expected:
        raise GenerateError(
            f"{where}: gaitgen could not add the entry without changing other "
            f"settings (unusual YAML layout); add it to loss_cfg by hand"
        )
    return new_text, entry, notes


def inputs_source(losses: list[Any], argument: str, project: Project) -> str | None:
    """The ``log_prefix`` of the first entry fed by the model whose loss takes ``argument``.

    Loss classes are read from their source files (the project's shadow the built-ins), never
    imported; an entry whose class is not found or has ``inputs_from`` itself is skipped.
    """
    sources = {s.name: s for s in builtin_components("loss") + project_components(project, "loss")}
    for entry in losses:
        if not isinstance(entry, dict) or INPUTS_FROM in entry:
            continue
        type_name = entry.get("type")
        if not isinstance(type_name, str):
            continue
        if argument in forward_parameters(type_name.rpartition(".")[2], sources):
            return log_prefix(entry)
    return None


def forward_parameters(name: str, sources: dict[str, Component]) -> list[str]:
    """The parameter names of class ``name``'s ``forward`` (inherited ones followed), or []."""
    seen: set[str] = set()
    while name in sources and name not in seen:
        seen.add(name)
        try:
            tree = ast.parse(sources[name].path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            return []
        node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)
        if node is None:
            return []
        forward = next(
            (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None
        )
        if forward is not None:
            arguments = forward.args
            return [a.arg for a in arguments.args[1:] + arguments.kwonlyargs]
        bases = [
            b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases
        ]
        name = next((base for base in bases if base in sources), "")
    return []
