"""``gaitgen evaluate EMBEDDINGS.npz``: evaluate saved embeddings without a model.

    gaitgen evaluate output/CASIA-B/Baseline/run/embeddings.npz
    gaitgen evaluate embeddings.npz --protocol OU-MVLP --cross-view --json
    gaitgen evaluate embeddings.npz --protocol GREW --metric cos --out results/

Torch and numpy are imported inside the command, so ``gaitgen --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gaitgen.cli.common import handle_errors

PANEL = "Train and evaluate"


def evaluate_command(
    embeddings: Path = typer.Argument(
        ..., help="embeddings.npz written by 'gaitgen test' (feature, label, type, view)."
    ),
    protocol: str | None = typer.Option(
        None,
        "--protocol",
        "-p",
        help="Preset (CASIA-B, OU-MVLP, CASIA-E, SUSTech1K, GREW, Gait3D, ...); "
        "default: the dataset named in the file.",
    ),
    metric: str = typer.Option("euc", "--metric", help="Distance: euc or cos (OpenGait's)."),
    cross_view: bool = typer.Option(
        False, "--cross-view", help="Cross-view gallery instead of the single-view one."
    ),
    rerank: bool = typer.Option(False, "--rerank", help="Apply k-reciprocal re-ranking."),
    remove_no_gallery: bool = typer.Option(
        False, "--remove-no-gallery", help="Leave out probes whose subject has no gallery."
    ),
    probe_set: Path | None = typer.Option(
        None, "--probe-set", help="JSON with the probe names (Gait3D: the partition file)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder to write results.json and the heatmap PNGs to."
    ),
    device: str | None = typer.Option(
        None, "--device", help="cpu, cuda, cuda:1, ... (default: a GPU if present)."
    ),
) -> None:
    """Evaluate saved embeddings under a gait-recognition protocol and print the results."""
    from gaitgen.runtime.errors import ConfigError
    from gaitgen.runtime.evaluation import evaluate, load_probe_set
    from gaitgen.runtime.evaluation.embeddings import load_embeddings_with_name
    from gaitgen.runtime.evaluation.protocols import PROTOCOLS, get_protocol

    if metric not in ("euc", "cos"):
        raise ConfigError(f"--metric: unknown metric {metric!r}; use euc or cos")
    if protocol is not None:
        get_protocol(protocol, "--protocol")  # fail on a bad name before loading the file
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
