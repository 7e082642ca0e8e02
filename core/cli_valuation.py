"""`autobroker valuation train|list|activate|deactivate`: the valuation models.

`train` reads the catalog, trains a model, prints its evaluation beside the comparables
and stores it as a new version; it serves (becomes active) only if it beats them, unless
--no-activate. Every API process and worker picks up a switch within
VALUATION_MODEL_CHECK_SECONDS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from core.cli import _fail, _load_settings, _on_engine, _servers, app
from core.settings import Settings

if TYPE_CHECKING:
    from services.pricing.model_evaluation import Evaluation

valuation = typer.Typer(help="Valuation models: train, list, activate, deactivate.")
app.add_typer(valuation, name="valuation")

DataDir = Annotated[Path, typer.Option(help="Embedded servers' data.")]


@contextmanager
def _database(data_dir: Path) -> Iterator[Settings]:
    """The settings, with the database (embedded if unset) migrated to head."""
    from core.migrate import upgrade_to_head

    with _servers(_load_settings(), data_dir, use_redis=False) as settings:
        assert settings.database_url is not None
        upgrade_to_head(settings.database_url)
        yield settings


def evaluation_lines(evaluation: Evaluation) -> list[str]:
    """The evaluation as `train` and `list` print it."""
    comparables = (
        "n/a" if evaluation.comparables_mdape is None else f"{evaluation.comparables_mdape} %"
    )
    return [
        f"  trained on {evaluation.training_rows:,} listings, "
        f"evaluated on {evaluation.held_out_rows:,} held out",
        f"  MdAPE on the {evaluation.compared_rows:,} held-out vehicles the comparables value: "
        f"model {evaluation.model_mdape} %, comparables {comparables}",
        f"  MdAPE on every held-out vehicle: {evaluation.model_mdape_all} %; "
        f"80 % interval coverage {evaluation.interval_coverage} %",
        f"  {'accepted' if evaluation.accepted else 'refused: ' + str(evaluation.refusal)}",
    ]


@valuation.command()
def train(
    activate: Annotated[
        bool, typer.Option(help="Serve the model if its evaluation accepts it.")
    ] = True,
    data_dir: DataDir = Path(".autobroker"),
) -> None:
    """Train a model on the catalog, print its evaluation, store it (and serve it if better)."""
    from services.pricing.model_retraining import TrainingOutcome, retrain

    async def run(engine: AsyncEngine) -> TrainingOutcome:
        return await retrain(engine, activate=activate)

    with _database(data_dir) as settings:
        try:
            outcome = asyncio.run(_on_engine(settings, run))
        except ValueError as error:
            raise _fail(str(error)) from None
    typer.echo(f"valuation model v{outcome.version} trained in {outcome.seconds} s")
    for line in evaluation_lines(outcome.evaluation):
        typer.echo(line)
    if outcome.activated:
        typer.echo(f"v{outcome.version} is now the serving model")
    else:
        typer.echo("the serving model is unchanged")


@valuation.command("list")
def list_models(data_dir: DataDir = Path(".autobroker")) -> None:
    """Every stored model, newest first, with its evaluation."""
    from services.pricing.model_store import StoredModel
    from services.pricing.model_store import list_models as stored_models

    async def run(engine: AsyncEngine) -> list[StoredModel]:
        async with engine.connect() as conn:
            return await stored_models(conn)

    with _database(data_dir) as settings:
        models = asyncio.run(_on_engine(settings, run))
    if not models:
        typer.echo("no valuation model trained yet: the comparables value every vehicle")
    for model in models:
        flag = "  ACTIVE" if model.active else ""
        typer.echo(f"v{model.version}  trained {model.trained_at:%Y-%m-%d %H:%M} UTC  "
                   f"{model.size_bytes / 1e6:.1f} MB{flag}")  # fmt: skip
        for line in evaluation_lines(model.evaluation):
            typer.echo(line)


@valuation.command("activate")
def activate_version(
    version: Annotated[int, typer.Argument(help="The model version to serve.")],
    data_dir: DataDir = Path(".autobroker"),
) -> None:
    """Serve model VERSION (refused if its evaluation refused it)."""
    from services.pricing.model_store import ModelNotFoundError, ModelRefusedError, activate_model

    async def run(engine: AsyncEngine) -> None:
        await activate_model(engine, version)

    with _database(data_dir) as settings:
        try:
            asyncio.run(_on_engine(settings, run))
        except (ModelNotFoundError, ModelRefusedError) as error:
            raise _fail(f"VERSION: {error}") from None
    typer.echo(f"v{version} is now the serving model")


@valuation.command("deactivate")
def deactivate(data_dir: DataDir = Path(".autobroker")) -> None:
    """Serve no model: the comparables value every vehicle."""
    from services.pricing.model_store import deactivate_models

    with _database(data_dir) as settings:
        previous = asyncio.run(_on_engine(settings, deactivate_models))
    typer.echo(
        "no model was serving" if previous is None
        else f"v{previous} no longer serves: the comparables value every vehicle"
    )  # fmt: skip
