"""`autobroker audit ...`: check the audit chain, rotate the personal-data key."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from core.cli import DataDirOption, _fail, _load_settings, _on_engine, _servers, app

audit_app = typer.Typer(
    help="The audit log and personal data at rest.", no_args_is_help=True, add_completion=False
)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(data_dir: DataDirOption = None) -> None:
    """Check the audit log's hash chain; exit 1 naming every entry that breaks it."""
    from services.audit.chain import ChainReport, verify_chain

    with _servers(_load_settings(), data_dir, use_redis=False) as settings:
        report: ChainReport = asyncio.run(_on_engine(settings, verify_chain))
    if not report.intact:
        for entry_id, problem in report.problems:
            typer.secho(f"entry {entry_id}: {problem}", err=True, fg=typer.colors.RED)
        raise _fail(f"audit chain broken: {len(report.problems)} problem(s)")
    span = f" (entries {report.first_id}..{report.last_id})" if report.checked else ""
    typer.echo(f"audit chain intact: {report.checked} entries checked{span}")


@audit_app.command("reencrypt")
def reencrypt(data_dir: DataDirOption = None) -> None:
    """Re-encrypt every personal-data field under the first FIELD_ENCRYPTION_KEYS key."""
    from services.accounts.profile import reencrypt_all
    from services.crypto import FieldCipher, UndecryptableFieldError

    loaded = _load_settings()
    cipher = FieldCipher.from_settings(loaded)

    async def run(engine: AsyncEngine) -> int:
        return await reencrypt_all(engine, cipher)

    with _servers(loaded, data_dir, use_redis=False) as settings:
        try:
            count = asyncio.run(_on_engine(settings, run))
        except UndecryptableFieldError:
            raise _fail(
                "FIELD_ENCRYPTION_KEYS: a field opens with none of the keys; keep the old key "
                "in the list until every row is re-encrypted"
            ) from None
    typer.echo(f"re-encrypted the personal data of {count} accounts under the first key")


@audit_app.command("new-key")
def new_key() -> None:
    """Print a new Fernet key for FIELD_ENCRYPTION_KEYS."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())
