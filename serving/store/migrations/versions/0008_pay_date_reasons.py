"""Pay dates carry their reasons: why each expected pay date falls where it does, in days.

Revision ID: 0008

The tables as they were at this revision, frozen here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pay_dates") as batch:
        batch.add_column(sa.Column("reasons", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("pay_dates") as batch:
        batch.drop_column("reasons")
