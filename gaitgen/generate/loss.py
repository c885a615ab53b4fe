"""``gaitgen new-loss NAME``: a loss file, its test, and optionally its entry in a config.

A loss only runs when the model puts its ``log_prefix`` in ``training_feat``. Models made by
``gaitgen new-model`` read ``model_cfg.loss_inputs`` (log_prefix -> ``embeddings`` or
``logits``) and emit one entry per line there, so adding a loss to their config is a pure
config edit: ``loss_cfg`` gets the entry and ``loss_inputs`` its line, and training uses the
new loss at once. For any other model the generator says what to add to its forward.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaitgen.runtime.components.scan import builtin_components, project_components
from gaitgen.runtime.errors import GenerateError
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


def loss_entry(name: str, prefix: str, pairwise: bool) -> dict[str, Any]:
    """The ``loss_cfg`` entry of a generated loss."""
    params = PAIRWISE_PARAMS if pairwise else PER_SAMPLE_PARAMS
    return {"type": name, "log_prefix": prefix, "loss_term_weight": 1.0, **params}


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
    validate_class_name(name, "loss")
    module = module_name(name)
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
        entry=loss_entry(name, prefix, pairwise),
        model_input="embeddings" if pairwise else "logits",
    )
    if config is not None:
        text, notes = add_loss_to_config(config, plan.entry, plan.model_input, project)
        plan.files.append(PlannedFile(config.resolve(), text, edit=True))
        plan.notes += notes
    check_targets_are_text([file.path for file in plan.files])
    return plan


def add_loss_to_config(
    config: Path, entry: dict[str, Any], model_input: str, project: Project
) -> tuple[str, list[str]]:
    """Return the config's new text with ``entry`` in ``loss_cfg``, and notes for the user.

    When the config has ``model_cfg.loss_inputs`` (a generated model), the loss's prefix is
    added there too, so the model feeds the new loss.

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
            f"TripletLoss); now {entry['type']} is its only loss"
        )
    elif isinstance(old_losses, dict):
        old_losses = [old_losses]
    elif not isinstance(old_losses, list):
        raise GenerateError(
            f"{where}: loss_cfg is {old_losses!r}; expected a loss {{type: Name, ...}} or a "
            "list of them; fix it first"
        )
    prefix = entry["log_prefix"]
    for index, old in enumerate(old_losses):
        if isinstance(old, dict) and old.get("log_prefix", old.get("type")) == prefix:
            raise GenerateError(
                f"{where}: loss_cfg[{index}] ({old.get('type')}) already uses log_prefix "
                f"{prefix!r}; choose another with --prefix"
            )

    new_text = yaml_edit.append_list_item(text, "loss_cfg", entry, where)
    expected = copy.deepcopy(cfgs)
    expected["loss_cfg"] = [*old_losses, entry]

    model_cfg = cfgs.get("model_cfg") if isinstance(cfgs.get("model_cfg"), dict) else {}
    if isinstance(model_cfg.get("loss_inputs"), dict):
        edited = yaml_edit.add_mapping_entry(
            new_text, ("model_cfg", "loss_inputs"), prefix, model_input, where
        )
        if edited is None:
            raise GenerateError(
                f"{where}: cannot find the model_cfg.loss_inputs block to edit; "
                f"add '{prefix}: {model_input}' to it by hand"
            )
        new_text = edited
        expected["model_cfg"]["loss_inputs"][prefix] = model_input
    else:
        note = _model_note(model_cfg.get("model"), prefix, model_input, project)
        if note:
            notes.append(note)

    if yaml.safe_load(new_text) != expected:
        raise GenerateError(
            f"{where}: gaitgen could not add the entry without changing other "
            f"settings (unusual YAML layout); add it to loss_cfg by hand"
        )
    return new_text, notes


def _model_note(model: Any, prefix: str, model_input: str, project: Project) -> str | None:
    """Say what to add to the model's forward when its source never mentions ``prefix``."""
    if not isinstance(model, str):
        return None
    sources = builtin_components("model") + project_components(project, "model")
    source = next((s for s in sources if s.name == model.rpartition(".")[2]), None)
    if source is not None:
        text = source.path.read_text(encoding="utf-8")
        if f'"{prefix}"' in text or f"'{prefix}'" in text:
            return None
        where = (
            f"gaitgen's built-in {source.path.name}"
            if source.builtin
            else str(source.path.relative_to(project.root))
        )
    else:
        where = "its file"
    copy_hint = (
        " (copy it into your project first)" if source is not None and source.builtin else ""
    )
    return (
        f"model {model} ({where}) does not put {prefix!r} in training_feat, so the new loss "
        f'will not run: add "{prefix}": {{"{model_input}": ..., "labels": labs}} to the '
        f"training_feat its forward returns{copy_hint}"
    )
