"""``gaitgen evaluate EMBEDDINGS.npz``: evaluate saved embeddings without a model.

    gaitgen evaluate output/CASIA-B/Baseline/run/embeddings.npz
    gaitgen evaluate embeddings.npz --protocol OU-MVLP --cross-view --json
    gaitgen evaluate embeddings.npz --protocol GREW --metric cos --out results/

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
            help="embeddings.npz written by 'gaitgen test' (feature, label, type, view).",
            show_default=False,
        ),
    ],
    protocol: Annotated[
        str | None,
        typer.Option(
            "--protocol",
            "-p",
            help="Preset (CASIA-B, OU-MVLP, CASIA-E, SUSTech1K, GREW, Gait3D, ...); "
            "default: the dataset named in the file.",
        ),
    ] = None,
    metric: MetricOption = "euc",
    cross_view: Annotated[
        bool,
        typer.Option("--cross-view", help="Cross-view gallery instead of the single-view one."),
    ] = False,
    rerank: Annotated[
        bool, typer.Option("--rerank", help="Apply k-reciprocal re-ranking.")
    ] = False,
    remove_no_gallery: Annotated[
        bool,
        typer.Option("--remove-no-gallery", help="Leave out probes whose subject has no gallery."),
    ] = False,
    probe_set: Annotated[
        Path | None,
        typer.Option("--probe-set", help="JSON with the probe names (Gait3D: the partition file)."),
    ] = None,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write results.json and the heatmap PNGs to."),
    ] = None,
    device: DeviceOption = None,
) -> None:
    """Evaluate saved embeddings under a gait-recognition protocol and print the results."""
    from gaitgen.runtime.atomic import check_output_path
    from gaitgen.runtime.errors import ConfigError
    from gaitgen.runtime.evaluation import evaluate, load_probe_set
    from gaitgen.runtime.evaluation.embeddings import load_embeddings_with_name
    from gaitgen.runtime.evaluation.protocols import PROTOCOLS, get_protocol

    if metric not in ("euc", "cos"):
        raise ConfigError(f"--metric: unknown metric {metric!r}; use euc or cos")
    if protocol is not None:
        get_protocol(protocol, "--protocol")  # fail on a bad name before loading the file
    if out is not None:
        check_output_path("--out", out, folder=True)  # before the evaluation, not after it
    feature, label, type_, view, dataset_name = load_embeddings_with_name(embeddings)
    if protocol is None and dataset_name is None:
        raise ConfigError(
            f"{embeddings}: the file names no dataset, so pass --protocol "
            f"(one of {', '.join(PROTOCOLS)})"
        )
    probes = load_probe_set(probe_set, "--probe-set") if probe_set is not None else None
    result = evaluate(
        feature,
        label,
        type_,
        view,
        protocol=protocol,
        dataset_name=dataset_name,
        metric=metric,
        cross_view=cross_view,
        rerank=rerank,
        device=device,
        remove_no_gallery=remove_no_gallery,
        probe_set=probes,
    )
    written = result.save(out) if out is not None else []
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    typer.echo(result.format_table())
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("evaluate", rich_help_panel=PANEL)(handle_errors(evaluate_command))
