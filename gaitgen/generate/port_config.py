"""The config and the test ``gaitgen port`` writes beside a ported model file.

The config comes from, in order: the OpenGait config given with ``--config`` (its settings,
with the project's ``data_cfg``, since OpenGait's dataset paths are another machine's); the
zoo starter of the model's OpenGait name (as ``new-model --from`` does); else the project's
default config with ``model_cfg.model`` replaced (its ``model_cfg`` is another model's, so
the test shows what to change). The test is ``new-model``'s, so the project's ``pytest``
imports, builds and trains the ported model.
"""

from __future__ import annotations

from pathlib import Path

from gaitgen.runtime.errors import GenerateError
from gaitgen.runtime.project import Project

from . import yaml_edit
from .derived import config_from_starter, derived_config
from .model import TEST_TEMPLATE
from .plan import PlannedFile
from .render import render_python
from .settings import config_defaults, read_settings


def _with_project_data(text: str, project: Project) -> tuple[str, str]:
    """``text`` with the project's ``data_cfg`` in place of its own."""
    defaults = config_defaults(read_settings(project))
    old = yaml_edit.block_text(text, "data_cfg")
    if old is None:
        return text, ""
    new = defaults.data_cfg_block.rstrip("\n") + "\n"
    return text.replace(old, new, 1), f";\n# data_cfg is copied from {defaults.source}"


def _config_text(
    project: Project, model: str, class_name: str, opengait_config: Path | None
) -> tuple[str, str]:
    """(config text, where its settings came from)."""
    from gaitgen.runtime.zoo import starter_config

    if opengait_config is not None:
        where = str(opengait_config)
        if not opengait_config.is_file():
            raise GenerateError(f"--config {opengait_config}: no such file")
        text, cfgs = yaml_edit.read_config(opengait_config, where)
        named = (cfgs.get("model_cfg") or {}).get("model")
        if named != model:
            raise GenerateError(
                f"--config {where}: its model_cfg.model is {named!r}, not the ported {model}; "
                "give the config of this model"
            )
        text, data_note = _with_project_data(text, project)
        # the file's place on this machine is not recorded in the project (it is shared)
        resolved = opengait_config.resolve()
        shown = (
            resolved.relative_to(project.root.resolve()).as_posix()
            if resolved.is_relative_to(project.root.resolve())
            else f"the config {opengait_config.name} given to --config"
        )
        return derived_config(text, model, class_name, None, 0), f"{shown}{data_note}"
    path = starter_config(model)
    if path is not None:
        text = path.read_text(encoding="utf-8")
        config, data_note = config_from_starter(project, text, model, class_name, from_zoo=True)
        return config, f"gaitgen's zoo config {path.name}{data_note}"
    settings = read_settings(project)
    if settings.default_config is None or not settings.default_config.is_file():
        raise GenerateError(
            f"no config for {class_name}: gaitgen's zoo has no starter of {model} and the "
            "project names no default_config; port with --config OPENGAIT_CONFIG"
        )
    where = settings.default_config.relative_to(project.root).as_posix()
    text, cfgs = yaml_edit.read_config(settings.default_config, where)
    base = (cfgs.get("model_cfg") or {}).get("model")
    if not isinstance(base, str):
        raise GenerateError(f"{where}: no model_cfg.model; port with --config OPENGAIT_CONFIG")
    if base == model:
        return derived_config(text, base, class_name, None, 0), f"{where}, the project's {base}"
    return (
        derived_config(text, base, class_name, None, 0),
        f"{where} with model_cfg.model replaced:\n# its model_cfg is {base}'s; edit it to "
        f"{class_name}'s (or port with --config OPENGAIT_CONFIG)",
    )


def port_config_files(
    project: Project,
    model: str,
    class_name: str,
    module: str,
    opengait_config: Path | None = None,
) -> list[PlannedFile]:
    """``configs/<module>.yaml`` and ``tests/test_<module>.py`` of a ported model.

    Args:
        project: the project the model was ported into.
        model: the model's name in OpenGait (its zoo starter and configs use it).
        class_name: its name in the project (``--name``, else ``model``).
        module: the ported file's stem under ``<package>/models/``.
        opengait_config: an OpenGait config of the model (``--config``).

    A ``configs/<module>.yaml`` that exists already and names ``class_name`` (the project's
    own config of the model) is kept, and the test uses it.

    Raises:
        GenerateError: the config is missing, invalid, of another model, or none is found.
    """
    context = {"class_name": class_name, "module_name": module, "package": project.package}
    line_length = read_settings(project).line_length
    test = PlannedFile(
        project.tests_dir / f"test_{module}.py",
        render_python(TEST_TEMPLATE, line_length=line_length, **context),
    )
    config_path = project.configs_dir / f"{module}.yaml"
    if opengait_config is None and _names_model(config_path, class_name):
        return [test]
    text, source = _config_text(project, model, class_name, opengait_config)
    header = (
        f"# {class_name}: ported from OpenGait by `gaitgen port`.\n"
        f"#   gaitgen train configs/{module}.yaml [--set trainer_cfg.total_iter=50]\n"
        f"# Its settings are from {source}.\n\n"
    )
    return [PlannedFile(config_path, header + text), test]


def _names_model(path: Path, class_name: str) -> bool:
    """``path`` is a readable config whose ``model_cfg.model`` is ``class_name``."""
    import yaml

    try:
        cfgs = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    model_cfg = cfgs.get("model_cfg") if isinstance(cfgs, dict) else None
    return isinstance(model_cfg, dict) and model_cfg.get("model") == class_name
