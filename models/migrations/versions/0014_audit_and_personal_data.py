"""audit log, data exports, encrypted personal data

Revision ID: 0014
Revises: 0011

`audit_entry` is append-only for every role, the embedded server's superuser included:
a trigger refuses UPDATE, TRUNCATE and DELETE, except the retention purge
(services/audit/retention.py), which sets `autobroker.audit_purge` for its transaction
and may remove entries older than 30 days only. Where the migrating role is not a
superuser, UPDATE and TRUNCATE are also revoked from it and from PUBLIC, so the
application role cannot even be granted past the trigger by accident.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The youngest entry the retention purge may ever remove, whatever the setting says.
PURGE_FLOOR = "30 days"

APPEND_ONLY_FUNCTION = f"""
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('autobroker.audit_purge', true) = 'on'
           AND OLD.at < now() - interval '{PURGE_FLOOR}' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_entry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

REVOKE_UNLESS_SUPERUSER = """
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        REVOKE UPDATE, TRUNCATE ON audit_entry FROM PUBLIC;
        EXECUTE format('REVOKE UPDATE, TRUNCATE ON audit_entry FROM %I', current_user);
    END IF;
END
$$
"""


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", _aware(), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.String(length=80), nullable=True),
        sa.Column("subject_user_id", sa.BigInteger(), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("prev_hash", sa.CHAR(length=64), nullable=False),
        sa.Column("hash", sa.CHAR(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash", name="uq_audit_entry_hash"),
    )
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"])
    op.create_index("ix_audit_entry_action_at", "audit_entry", ["action", "at"])
    op.create_index("ix_audit_entry_actor", "audit_entry", ["actor_kind", "actor_id", "at"])
    op.create_index("ix_audit_entry_subject", "audit_entry", ["subject_type", "subject_id"])
    op.create_index("ix_audit_entry_subject_user", "audit_entry", ["subject_user_id"])
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"
    )
    op.execute(REVOKE_UNLESS_SUPERUSER)

    op.create_table(
        "data_export",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _aware(), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", _aware(), nullable=True),
        sa.Column("expires_at", _aware(), nullable=True),
        sa.CheckConstraint(
            "status IN ('PENDING', 'READY', 'FAILED')", name="data_export_status_known"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_data_export_user_id", "data_export", ["user_id"])
    op.create_index("ix_data_export_expires_at", "data_export", ["expires_at"])

    for column in ("full_name_enc", "phone_enc", "address_enc"):
        op.add_column("app_user", sa.Column(column, sa.Text(), nullable=True))
    op.add_column("app_user", sa.Column("erased_at", _aware(), nullable=True))


def downgrade() -> None:
    for column in ("erased_at", "address_enc", "phone_enc", "full_name_enc"):
        op.drop_column("app_user", column)
    op.drop_index("ix_data_export_expires_at", table_name="data_export")
    op.drop_index("ix_data_export_user_id", table_name="data_export")
    op.drop_table("data_export")
    op.execute("DROP TABLE audit_entry")
    op.execute("DROP FUNCTION audit_entry_append_only()")
