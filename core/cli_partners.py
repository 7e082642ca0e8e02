"""`autobroker register-operations`: a partner's (or the first-party) trusted documents."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from core.cli import DataDirOption, _fail, _load_settings, _on_engine, _servers, app


@app.command("register-operations")
def register_operations(
    manifest: Annotated[Path, typer.Argument(help="Persisted-query manifest (JSON).")],
    partner: Annotated[
        str | None, typer.Option(help="The partner's name; omit for first-party clients.")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Register the operations a partner may run (replacing its previous set)."""
    from services.accounts.documents import register_manifest
    from services.accounts.partners import partner_id_for
    from services.errors import InvalidArgumentError

    try:
        content = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise _fail(f"MANIFEST: cannot read {manifest}: {error}") from None

    async def register(engine: AsyncEngine) -> int:
        partner_id = None
        if partner is not None:
            async with engine.begin() as conn:
                partner_id = await partner_id_for(conn, partner)
        return await register_manifest(engine, partner_id, content)

    with _servers(_load_settings(), data_dir, use_redis=False) as settings:
        try:
            count = asyncio.run(_on_engine(settings, register))
        except InvalidArgumentError as error:
            raise _fail(f"MANIFEST: {error.argument}: {error.message}") from None
    whose = f"partner {partner!r}" if partner else "first-party clients"
    typer.echo(f"registered {count} operations for {whose}")
