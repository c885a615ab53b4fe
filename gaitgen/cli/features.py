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

import typer

from gaitgen.cli.common import handle_errors

PANEL = "Train and evaluate"


def extract(
    config: Path = typer.Argument(
        ..., help="The config the model was trained with.", show_default=False
    ),
    data: Path = typer.Option(
        ...,
        "--data",
        help="Dataset folder: <id>/<type>/<view>/ (OpenGait), or one sequence per "
        "subfolder or per file.",
        show_default=False,
    ),
    partition: Path | None = typer.Option(
        None, "--partition", "-p", help="Partition JSON: embed its TEST_SET only."
    ),
    out: Path = typer.Option(Path("feats.npz"), "--out", "-o", help="The .npz file to write."),
    iteration: int = typer.Option(
        0, "--iter", help="The checkpoint's iteration (default: the latest)."
    ),
    overrides: list[str] = typer.Option(
        None, "--set", metavar="KEY=VALUE", help="Override a config value (repeatable)."
    ),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda if any)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Embed every sequence of a dataset with a trained checkpoint (embeddings .npz)."""
    from gaitgen.runtime.errors import ConfigError

    if not config.is_file():
        raise ConfigError(f"config file not found: {config}")
    from gaitgen.runtime.engine.extract import extract_embeddings
    from gaitgen.runtime.progress import silenced

    with silenced(quiet):
        result = extract_embeddings(
            config, data, partition, out, iteration or None, overrides or [], device
        )
    shape = "x".join(str(d) for d in result.feature_shape[1:])
    typer.echo(
        f"wrote {result.path}: {result.sequences} sequences, features {shape} "
        f"({result.layout} layout, checkpoint of iteration {result.iteration})"
    )


def search(
    gallery: Path = typer.Option(
        ..., "--gallery", "-g", help="Embeddings .npz of the gallery.", show_default=False
    ),
    probe: Path = typer.Option(
        ..., "--probe", "-p", help="Embeddings .npz of the probes.", show_default=False
    ),
    top: int = typer.Option(5, "--top", "-k", help="Matches to show per probe."),
    metric: str = typer.Option("euc", "--metric", help="Distance: euc or cos (OpenGait's)."),
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    device: str | None = typer.Option(
        None, "--device", help="cpu or cuda (default: a GPU if any)."
    ),
) -> None:
    """Rank the gallery for each probe: the top-k labels, types, views and distances."""
    from gaitgen.runtime.evaluation.search import search_files

    result = search_files(gallery, probe, top=top, metric=metric, device=device)
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    typer.echo(result.format())


def register(app: typer.Typer) -> None:
    """Add ``extract`` and ``search``."""
    app.command("extract", rich_help_panel=PANEL)(handle_errors(extract))
    app.command("search", rich_help_panel=PANEL)(handle_errors(search))
