"""Initial score store: batches, invoice and account scores, reasons, worklist, contacts.

Revision ID: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from serving.tables import metadata

    metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    from serving.tables import metadata

    metadata.drop_all(bind=op.get_bind())
