"""``gaitgen new-model NAME``: a model file, its config and its test, rendered in memory."""

from __future__ import annotations

from gaitgen.runtime.project import Project

from .names import check_name_free, check_targets_are_text, module_name, validate_class_name
from .plan import PlannedFile
from .render import render, render_python
from .settings import config_defaults, read_settings

MODEL_TEMPLATE = "model.py.jinja"
CONFIG_TEMPLATE = "config.yaml.jinja"
TEST_TEMPLATE = "test_model.py.jinja"


def model_files(project: Project, name: str, *, force: bool = False) -> list[PlannedFile]:
    """Render the files of a new model called ``name`` (nothing is written).

    Args:
        project: the project the model goes into.
        name: the class name, e.g. ``MyGait``.
        force: the caller will overwrite; a class of that name in the very file this
            generator writes does not count as a clash.

    Returns:
        ``<package>/models/<name>.py``, ``configs/<name>.yaml`` and ``tests/test_<name>.py``
        (names lowercased).

    Raises:
        GenerateError: invalid or taken name, or unreadable project settings.
    """
    validate_class_name(name, "model")
    module = module_name(name)
    model_path = project.models_dir / f"{module}.py"
    check_name_free(name, project, "model", model_path if force else None)

    settings = read_settings(project)
    defaults = config_defaults(settings)
    context = {
        "class_name": name,
        "module_name": module,
        "package": project.package,
        "dataset_name": defaults.dataset_name,
        "data_cfg_block": defaults.data_cfg_block,
        "class_num": defaults.class_num,
        "batch_size": defaults.batch_size,
        "frames_num_fixed": defaults.frames_num_fixed,
        "source": defaults.source,
    }
    line_length = settings.line_length
    files = [
        PlannedFile(model_path, render_python(MODEL_TEMPLATE, line_length=line_length, **context)),
        PlannedFile(project.configs_dir / f"{module}.yaml", render(CONFIG_TEMPLATE, **context)),
        PlannedFile(
            project.tests_dir / f"test_{module}.py",
            render_python(TEST_TEMPLATE, line_length=line_length, **context),
        ),
    ]
    check_targets_are_text([file.path for file in files])
    return files
