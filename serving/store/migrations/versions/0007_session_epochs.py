"""Session epochs: a logout of the managers' pages ends the key's sessions everywhere.

Revision ID: 0007

The tables as they were at this revision, frozen here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_epochs",
        sa.Column("key_name", sa.String(64), primary_key=True),
        sa.Column("epoch", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("session_epochs")
