"""vehicle holds: repair vehicles left RESERVED or SOLD with no order; widen the hold index

Earlier seeds wrote RESERVED and SOLD vehicles without the order that holds or bought
them, and nothing could ever release those. A RESERVED vehicle no order holds becomes
AVAILABLE again (nobody holds it); a SOLD vehicle no order paid for becomes WITHDRAWN (it
left the market some other way; its dealer may list it again). The same rule as
services/vehicles/holds.py. Hold expiry now also reads PAYMENT_PENDING and PAYMENT_FAILED
orders by `reserved_until`, so the partial index covers them.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HOLDING = "('RESERVED', 'PAYMENT_PENDING', 'PAYMENT_FAILED')"


def upgrade() -> None:
    op.execute(
        """
        UPDATE vehicle v SET status = 'AVAILABLE', updated_at = now()
         WHERE v.status = 'RESERVED'
           AND NOT EXISTS (SELECT 1 FROM orders o
                            WHERE o.vehicle_id = v.id AND o.status IN ('RESERVED', 'PAYMENT_PENDING', 'PAYMENT_FAILED'))
        """
    )
    op.execute(
        """
        UPDATE vehicle v SET status = 'WITHDRAWN', updated_at = now()
         WHERE v.status = 'SOLD'
           AND NOT EXISTS (SELECT 1 FROM orders o
                            WHERE o.vehicle_id = v.id
                              AND (o.status IN ('PAID', 'PREPARING', 'IN_TRANSIT',
                                                'DELIVERED', 'COMPLETED')
                                   OR (o.status = 'REFUNDED' AND o.delivered_at IS NOT NULL)))
        """
    )
    op.drop_index("ix_orders_reserved_until", table_name="orders")
    op.create_index(
        "ix_orders_reserved_until",
        "orders",
        ["reserved_until"],
        unique=False,
        postgresql_where=sa.text(f"status IN {_HOLDING}"),
    )


def downgrade() -> None:
    # The repaired vehicles stay as they are: their old statuses were the defect.
    op.drop_index("ix_orders_reserved_until", table_name="orders")
    op.create_index(
        "ix_orders_reserved_until",
        "orders",
        ["reserved_until"],
        unique=False,
        postgresql_where=sa.text("status = 'RESERVED'"),
    )
