"""``gaitgen extract`` and ``gaitgen search``: gait features of your own sequences.

    gaitgen extract configs/baseline.yaml --data data/mine --out mine.npz
    gaitgen extract configs/baseline.yaml --data data/synthgait \\
        --partition data/synthgait/partition.json --out test.npz --iter 360
    gaitgen search --gallery test.npz --probe mine.npz --top 5 [--metric cos] [--json]

``extract`` writes ``gaitgen test``'s embeddings format (``feature``, ``label``, ``type``,
``view``), so ``gaitgen evaluate`` reads it too. torch is imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gaitgen.cli.common import handle_errors, require_config
from gaitgen.cli.options import (
    ConfigArgument,
    DeviceOption,
    JsonOption,
    MetricOption,
    QuietOption,
    SetOption,
)
from gaitgen.runtime.main import check_iteration_option

PANEL = "Train and evaluate"


def extract(
    config: ConfigArgument,
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Dataset folder: <id>/<type>/<view>/ (OpenGait), or one sequence per "
            "subfolder or per file.",
            show_default=False,
        ),
    ],
    partition: Annotated[
        Path | None,
        typer.Option("--partition", "-p", help="Partition JSON: embed its TEST_SET only."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The .npz file to write.")] = Path(
        "feats.npz"
    ),
    iteration: Annotated[
        int, typer.Option("--iter", help="The checkpoint's iteration (default: the latest).")
    ] = 0,
    overrides: SetOption = None,
    device: DeviceOption = None,
    quiet: QuietOption = False,
) -> None:
    """Embed every sequence of a dataset with the checkpoint CONFIG trained (embeddings .npz).

    Example: gaitgen extract configs/baseline.yaml --data data/synthgait --out gallery.npz
    """
    require_config(config)
    check_iteration_option(iteration, "extract")
    from gaitgen.runtime.engine.extract import extract_embeddings

    result = extract_embeddings(
        config, data, partition, out, iteration or None, overrides or [], device
    )
    shape = "x".join(str(d) for d in result.feature_shape[1:])
    typer.echo(
        f"wrote {result.path}: {result.sequences} sequences, features {shape} "
        f"({result.layout} layout, checkpoint of iteration {result.iteration})"
    )


def search(
    gallery: Annotated[
        Path,
        typer.Option("--gallery", "-g", help="Embeddings .npz of the gallery.", show_default=False),
    ],
    probe: Annotated[
        Path,
        typer.Option("--probe", help="Embeddings .npz of the probes.", show_default=False),
    ],
    top: Annotated[int, typer.Option("--top", "-k", help="Matches to show per probe.")] = 5,
    metric: MetricOption = None,
    as_json: JsonOption = False,
    device: DeviceOption = None,
) -> None:
    """Rank the gallery for each probe: the top-k labels, types, views and distances.

    Example: gaitgen search --gallery gallery.npz --probe probe.npz --top 5
    """
    from gaitgen.runtime.evaluation.search import search_files

    result = search_files(gallery, probe, top=top, metric=metric or "euc", device=device)
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    typer.echo(result.format())


def register(app: typer.Typer) -> None:
    """Add ``extract`` and ``search``."""
    app.command("extract", rich_help_panel=PANEL)(handle_errors(extract))
    app.command("search", rich_help_panel=PANEL)(handle_errors(search))
