"""random quote ids: quotes are read by their id alone, so it must not be guessable

New quotes get a random positive BIGINT (models/quote.py, RANDOM_QUOTE_ID) instead of the
next value of a sequence, and every existing quote is renumbered the same way, its lines
and orders following it (their foreign keys cascade the update for the while), and the
QUOTED order events that name it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANDOM_QUOTE_ID = (
    "(('x' || substr(md5(gen_random_uuid()::text), 1, 16))::bit(64)::bigint & 9223372036854775807)"
)
# (constraint, table, on delete) of the foreign keys that point at quote.id.
_REFERENCES = (
    ("quote_line_quote_id_fkey", "quote_line", "CASCADE"),
    ("orders_quote_id_fkey", "orders", "RESTRICT"),
)


def _references(on_update: str | None) -> None:
    for name, table, on_delete in _REFERENCES:
        op.drop_constraint(name, table, type_="foreignkey")
        op.create_foreign_key(
            name, table, "quote", ["quote_id"], ["id"], ondelete=on_delete, onupdate=on_update
        )


def upgrade() -> None:
    op.execute(f"ALTER TABLE quote ALTER COLUMN id SET DEFAULT {RANDOM_QUOTE_ID}")
    op.execute("DROP SEQUENCE IF EXISTS quote_id_seq")
    _references("CASCADE")
    op.execute(f"UPDATE quote SET id = {RANDOM_QUOTE_ID}")  # noqa: S608 - a constant
    # The QUOTED events name their quote: the new id.
    op.execute(
        "UPDATE order_event e SET reason = 'quote ' || o.quote_id FROM orders o "
        "WHERE e.order_id = o.id AND e.to_status = 'QUOTED' AND e.reason ~ '^quote [0-9]+$'"
    )
    _references(None)


def downgrade() -> None:
    # The random ids stay (renumbering back would gain nothing); new ones count again.
    op.execute("CREATE SEQUENCE quote_id_seq OWNED BY quote.id")
    op.execute("SELECT setval('quote_id_seq', GREATEST((SELECT max(id) FROM quote), 1))")
    op.execute("ALTER TABLE quote ALTER COLUMN id SET DEFAULT nextval('quote_id_seq')")
