"""``gaitgen new-model NAME``: a model file, its config and its test, rendered in memory."""

from __future__ import annotations

import yaml

from gaitgen.runtime.project import Project

from .modalities import DEFAULT_MODALITY, check_modality
from .names import check_name_free, check_targets_are_text, module_name, validate_class_name
from .plan import PlannedFile
from .render import render, render_python
from .settings import (
    config_defaults,
    modality_data_block,
    read_settings,
    synthetic_train_ids,
    synthgait_data_block,
)

CONFIG_TEMPLATE = "config.yaml.jinja"
TEST_TEMPLATE = "test_model.py.jinja"
# channels of one input frame of the image modalities, and what they hold
_INPUT_CHANNELS = {
    "silhouette": (1, "1 for silhouettes"),
    "skeleton": (2, "2: the limb and joint maps"),
    "silhouette+skeleton": (3, "3: the limb and joint maps, then the silhouette"),
    "parsing": (12, "= parsing_labels: the one-hot part labels"),
    "smpl": (1, "1: the silhouette"),
    "pose": (3, "x, y, confidence"),
}


def model_files(
    project: Project, name: str, *, modality: str = DEFAULT_MODALITY, force: bool = False
) -> list[PlannedFile]:
    """Render the files of a new model called ``name`` (nothing is written).

    Args:
        project: the project the model goes into.
        name: the class name, e.g. ``MyGait`` (``my_gait`` gives class ``MyGait`` in
            ``my_gait.py``: :func:`~gaitgen.generate.names.validate_class_name`).
        modality: what the model reads (a key of
            :data:`~gaitgen.generate.modalities.MODALITIES`); its config trains on the
            project's data when that holds it, else on SynthGait data of that modality.
        force: the caller will overwrite; a class of that name in the very file this
            generator writes does not count as a clash.

    Returns:
        ``<package>/models/<name>.py``, ``configs/<name>.yaml`` and ``tests/test_<name>.py``
        (names lowercased).

    Raises:
        GenerateError: invalid or taken name, unknown modality, or unreadable project
            settings.
    """
    body = check_modality(modality)
    module = module_name(name)
    name = validate_class_name(name, "model")
    model_path = project.models_dir / f"{module}.py"
    check_name_free(name, project, "model", model_path if force else None)

    settings = read_settings(project)
    defaults = config_defaults(settings)
    block = modality_data_block(defaults, body.synth)
    class_num, dataset_name = defaults.class_num, defaults.dataset_name
    if block is defaults.data_cfg_block:
        data_note = f"data_cfg is copied from {defaults.source}."
    else:
        if block is None:  # a real dataset: train on SynthGait until the user points it
            block = synthgait_data_block(modalities=body.synth)
            data_note = (
                f"data_cfg: SynthGait's {body.summary}, since {defaults.source}'s dataset "
                f"may not hold them; point it at\n# yours (one file per modality per sequence)."
            )
        else:
            data_note = f"data_cfg: SynthGait's {body.summary}, sized as {defaults.source}'s."
        class_num = synthetic_train_ids(yaml.safe_load(block)["data_cfg"]["synthetic"]["subjects"])
        dataset_name = "SynthGait"
    channels, channels_doc = _INPUT_CHANNELS[body.name]
    context = {
        "class_name": name,
        "module_name": module,
        "package": project.package,
        "dataset_name": dataset_name,
        "data_cfg_block": block,
        "class_num": class_num,
        "batch_size": defaults.batch_size,
        "frames_num_fixed": defaults.frames_num_fixed,
        "source": defaults.source,
        "data_note": data_note,
        "modality": body.name,
        "summary": body.summary,
        "summary_key": body.name.replace("+", "_"),
        "in_channels": channels,
        "channels_doc": channels_doc,
    }
    line_length = settings.line_length
    files = [
        PlannedFile(model_path, render_python(body.template, line_length=line_length, **context)),
        PlannedFile(project.configs_dir / f"{module}.yaml", render(CONFIG_TEMPLATE, **context)),
        PlannedFile(
            project.tests_dir / f"test_{module}.py",
            render_python(TEST_TEMPLATE, line_length=line_length, **context),
        ),
    ]
    check_targets_are_text([file.path for file in files])
    return files
