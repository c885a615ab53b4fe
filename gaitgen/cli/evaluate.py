"""``gaitgen evaluate EMBEDDINGS.npz``: evaluate saved embeddings without a model.

    gaitgen evaluate output/CASIA-B/Baseline/run/embeddings.npz
    gaitgen evaluate embeddings.npz --protocol OU-MVLP --cross-view --json
    gaitgen evaluate embeddings.npz --protocol GREW --metric cos --out results/
    gaitgen evaluate embeddings.npz --protocol evaluate_CCPG --dataset CCPG --json

``--protocol`` takes a protocol preset or one of OpenGait's evaluation functions by name;
``--json`` prints one object whose ``opengait`` key holds the dict OpenGait's function returns.

Torch and numpy are imported inside the command, so ``gaitgen --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import handle_errors
from gaitgen.cli.options import DeviceOption, JsonOption, MetricOption

PANEL = "Train and evaluate"


def evaluate_command(
    embeddings: Annotated[
        Path,
        typer.Argument(
            help="embeddings.npz written by 'gaitgen test' (feature, label, type, view; a "
            "segmentation model's: pred, mask).",
            show_default=False,
        ),
    ],
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            help="A preset (CASIA-B, OU-MVLP, CASIA-E, SUSTech1K, GREW, Gait3D, ...) or an "
            "OpenGait evaluation function (evaluate_CCPG, GREW_submission, ...; see 'gaitgen "
            "list evaluation'); default: the preset of the dataset.",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="The dataset's name, as OpenGait's functions take it (CASIA-B, CCPG, GREW, "
            "...); default: the name stored in the file.",
        ),
    ] = None,
    metric: MetricOption = None,
    cross_view: Annotated[
        bool,
        typer.Option("--cross-view", help="Cross-view gallery instead of the single-view one."),
    ] = False,
    rerank: Annotated[
        bool,
        typer.Option(
            "--rerank",
            help="Apply k-reciprocal re-ranking (off unless given, whatever the function: "
            "OpenGait's HID_submission re-ranks by default, a config of it does here too).",
        ),
    ] = False,
    remove_no_gallery: Annotated[
        bool,
        typer.Option("--remove-no-gallery", help="Leave out probes whose subject has no gallery."),
    ] = False,
    probe_set: Annotated[
        Path | None,
        typer.Option(
            "--probe-set",
            help="The partition file with PROBE_SET / GALLERY_SET names (Gait3D, FreeGait, "
            "CCGR-MINI), or a JSON list of probe names.",
        ),
    ] = None,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write results.json, the heatmap PNGs and submission files to.",
        ),
    ] = None,
    device: DeviceOption = None,
) -> None:
    """Evaluate saved embeddings under a gait-recognition protocol and print the results.

    Example: gaitgen evaluate output/SynthGait/Baseline/Baseline/embeddings.npz --cross-view
    """
    from gaitgen.runtime.atomic import check_output_path
    from gaitgen.runtime.errors import ConfigError
    from gaitgen.runtime.evaluation.checks import check_metric
    from gaitgen.runtime.evaluation.dispatch import choose_function, evaluate_function
    from gaitgen.runtime.evaluation.embeddings import load_eval_data
    from gaitgen.runtime.evaluation.inputs import EvalSettings, load_partition

    if metric is not None:
        check_metric(metric, "--metric")
    # a bad name or output folder fails before the file is loaded
    function, dataset, preset = choose_function(protocol, dataset)
    if out is not None:
        check_output_path("--out", out, folder=True)
    data, stored_name = load_eval_data(embeddings, function.inputs)
    dataset = dataset or stored_name
    if dataset is None and function.protocol_kind is not None and function.preset is None:
        raise ConfigError(
            f"{embeddings}: the file names no dataset; pass --dataset (or --protocol PRESET)"
        )
    given = tuple(
        name
        for name, value in (
            ("metric", metric),
            ("cross_view", cross_view),
            ("rerank", rerank),
            ("probe_set", probe_set),
        )
        if value
    )
    settings = EvalSettings(
        metric=metric or "euc",
        cross_view=cross_view,
        rerank=rerank,
        partition=load_partition(probe_set, "--probe-set") if probe_set is not None else None,
        remove_no_gallery=remove_no_gallery,
        device=device,
        protocol=preset,
        out_dir=out,
        given=given,
    )
    result = evaluate_function(function, data, dataset, settings, where="--protocol")
    written = result.save(out) if out is not None else []
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    typer.echo(result.format_table())
    for path in [*result.files, *written]:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("evaluate", rich_help_panel=PANEL)(handle_errors(evaluate_command))
