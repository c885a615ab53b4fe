"""``gaitgen new-model NAME --from BASE``: a model that starts as an existing one.

The new class subclasses BASE (a built-in zoo model or one of the project's), so as generated
it equals BASE weight for weight and loads BASE's checkpoints; the user overrides
``build_network``/``forward`` to change it. A subclass rather than a copy: the generated
file stays a few lines that show exactly what the researcher changed, fixes to the base
reach it, and BASE's checkpoints stay loadable. Its config is BASE's starter config (the
zoo's SynthGait one for a built-in, the project's own for a project model) with the model
name, ``save_name`` and the project's data settings put in.
"""

from __future__ import annotations

import re

from gaitgen.runtime.errors import GenerateError
from gaitgen.runtime.project import Project

from . import yaml_edit
from .model import TEST_TEMPLATE
from .names import check_name_free, module_name, validate_class_name
from .plan import PlannedFile
from .render import render_python
from .settings import config_defaults, read_settings, synthetic_layout, synthetic_modalities

DERIVED_TEMPLATE = "model_from.py.jinja"
# the class_num of SynthGait's 24 training identities, which the zoo's starters are set for
_ZOO_CLASS_NUM = 24


def _base(project: Project, base: str):
    """The model ``--from`` names (the project's shadows a built-in of its name)."""
    from gaitgen.runtime.components import available, unknown_name_error

    matches = [c for c in available("model", project) if c.name == base]
    if not matches:
        raise GenerateError(str(unknown_name_error("model", base, "--from", project)))
    return next((c for c in matches if not c.builtin), matches[0])


def _starter_text(project: Project, source, base: str) -> tuple[str, str, bool]:
    """(config text, where it came from, it is a zoo config)."""
    if source.builtin:
        from gaitgen.runtime.zoo import starter_config

        path = starter_config(base)
        if path is not None:
            return path.read_text(encoding="utf-8"), f"gaitgen's zoo config {path.name}", True
    path = _project_config(project, base, source)
    if path is None:
        raise GenerateError(
            f"--from {base}: no config to derive from: neither gaitgen's zoo nor the "
            f"project's configs/ has one naming model {base}; write one first "
            f"(model_cfg.model: {base})"
        )
    return path.read_text(encoding="utf-8"), str(path.relative_to(project.root)), False


def _project_config(project: Project, base: str, source):
    """The project's config of ``base``: configs/<its module>.yaml, else the first config
    naming it (the starter configs/baseline.yaml for the built-in Baseline)."""
    import yaml

    named = project.configs_dir / f"{source.path.stem}.yaml"
    candidates = [named] + sorted(p for p in project.configs_dir.glob("*.yaml") if p != named)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            cfgs = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError):
            continue  # an unreadable config is not the one to derive from
        if isinstance(cfgs, dict) and (cfgs.get("model_cfg") or {}).get("model") == base:
            return path
    return None


def _data_cfg(text: str) -> dict:
    """The ``data_cfg`` of a config's text (``{}`` when it has none)."""
    import yaml

    cfgs = yaml.safe_load(text) or {}
    data_cfg = cfgs.get("data_cfg") if isinstance(cfgs, dict) else None
    return data_cfg if isinstance(data_cfg, dict) else {}


def derived_config(text: str, base: str, name: str, data_block: str | None, class_num: int) -> str:
    """BASE's config text with NAME as the model and save_name, and the project's data."""
    lines = yaml_edit.split_lines(text)
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)  # the base config's header speaks of the base; ours is written below
    body = "".join(lines)
    if data_block is not None:
        old = yaml_edit.block_text(body, "data_cfg")
        if old is not None:
            body = body.replace(old, data_block.rstrip("\n") + "\n", 1)
        if class_num != _ZOO_CLASS_NUM:
            body = re.sub(rf"(\bclass_num:\s*){_ZOO_CLASS_NUM}\b", rf"\g<1>{class_num}", body)
    body, count = re.subn(rf"(?m)^(\s+model:\s*){re.escape(base)}\b", rf"\g<1>{name}", body)
    if count != 1:
        raise GenerateError(f"--from {base}: its config does not say 'model: {base}' once")
    body = re.sub(r"(?m)^(\s+save_name:\s*)\S+", rf"\g<1>{name}", body)
    return body


def config_from_starter(
    project: Project, text: str, base: str, name: str, *, from_zoo: bool
) -> tuple[str, str]:
    """A config of model ``name`` from ``base``'s config ``text``, and what its data is.

    A zoo starter on silhouettes in CASIA-B's layout trains on the project's data (its
    ``data_cfg`` and ``class_num``); one on SynthGait's other modalities, or in another
    evaluation's layout (ScoNet's classes are Scoliosis1K's type folders), keeps its own data
    (the project's may not hold them); a project config keeps its own.

    Returns:
        The config text (without the base's header) and the end of a sentence about its
        data: ``"; data_cfg is copied from configs/baseline.yaml"``, or ``""``.
    """
    defaults = config_defaults(read_settings(project))
    starter_reads = synthetic_modalities(_data_cfg(text)) if from_zoo else ()
    starter_layout = synthetic_layout(_data_cfg(text)) if from_zoo else None
    own_data = from_zoo and (
        starter_reads not in ((), ("silhouette",)) or starter_layout is not None
    )
    project_data = from_zoo and not own_data
    config = derived_config(
        text, base, name, defaults.data_cfg_block if project_data else None, defaults.class_num
    )
    if project_data:
        return config, f"; data_cfg is copied from {defaults.source}"
    if own_data:
        layout = f", in the {starter_layout} layout" if starter_layout else ""
        reads = ", ".join(starter_reads or ("silhouette",))
        return config, f", data_cfg included (SynthGait's {reads}{layout})"
    return config, ""


def derived_model_files(
    project: Project, name: str, base: str, *, force: bool = False
) -> list[PlannedFile]:
    """Render the files of model ``name`` derived from ``base`` (nothing is written).

    Raises:
        GenerateError: invalid or taken name, unknown base, or no config to derive from.
    """
    module = module_name(name)
    name = validate_class_name(name, "model")
    if name == base:
        raise GenerateError(f"--from {base}: the new model needs a name of its own")
    model_path = project.models_dir / f"{module}.py"
    check_name_free(name, project, "model", model_path if force else None)
    source = _base(project, base)
    text, config_source, from_zoo = _starter_text(project, source, base)
    settings = read_settings(project)
    config, data_note = config_from_starter(project, text, base, name, from_zoo=from_zoo)
    if source.builtin:
        base_import = f"from gaitgen.runtime.models.{source.path.stem} import {base}"
        base_source = f"gaitgen/runtime/models/{source.path.name}"
    else:
        base_import = f"from {project.package}.models.{source.path.stem} import {base}"
        base_source = str(source.path.relative_to(project.root))
    context = {
        "class_name": name,
        "module_name": module,
        "package": project.package,
        "base_name": base,
        "base_import": base_import,
        "base_source": base_source,
        "config_source": config_source,
    }
    header = (
        f"# {name}: derived from {base} by `gaitgen new-model {name} --from {base}`.\n"
        f"#   gaitgen train configs/{module}.yaml [--set trainer_cfg.total_iter=50]\n"
        f"#   gaitgen test configs/{module}.yaml\n"
        f"# Its settings are {base}'s, from {config_source}{data_note}.\n\n"
    )
    line_length = settings.line_length
    return [
        PlannedFile(
            model_path, render_python(DERIVED_TEMPLATE, line_length=line_length, **context)
        ),
        PlannedFile(project.configs_dir / f"{module}.yaml", header + config),
        PlannedFile(
            project.tests_dir / f"test_{module}.py",
            render_python(TEST_TEMPLATE, line_length=line_length, **context),
        ),
    ]
