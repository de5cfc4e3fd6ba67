"""One definition per amount: an account's ``open_amount`` is all it still owes (it was the
not-yet-due part), beside ``not_yet_due_amount`` and ``overdue_amount``; its ``amount_at_risk``
includes the overdue invoices (it was ``amount_at_risk_total``), beside
``amount_at_risk_not_yet_due``; ``open_invoices`` counts the overdue invoices too.

Revision ID: 0009

Stored batches are converted in place: the old columns are renamed, the total is their sum, and
the invoice count is read from the batch's invoices.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RENAMES = (
    ("open_amount", "not_yet_due_amount"),
    ("overdue_open_amount", "overdue_amount"),
    ("amount_at_risk", "amount_at_risk_not_yet_due"),
    ("amount_at_risk_total", "amount_at_risk"),
)
COUNT = """
UPDATE account_scores SET open_invoices = (
    SELECT COUNT(*) FROM invoice_scores AS i
    WHERE i.as_of = account_scores.as_of AND i.model_version = account_scores.model_version
      AND i.customer_id = account_scores.customer_id
)
WHERE EXISTS (
    SELECT 1 FROM invoice_scores AS i
    WHERE i.as_of = account_scores.as_of AND i.model_version = account_scores.model_version
      AND i.customer_id = account_scores.customer_id
)
"""


def upgrade() -> None:
    for old, new in RENAMES:  # one at a time: a name freed by one is taken by the next
        with op.batch_alter_table("account_scores") as batch:
            batch.alter_column(old, new_column_name=new, existing_type=sa.Float, nullable=False)
    with op.batch_alter_table("account_scores") as batch:
        batch.add_column(sa.Column("open_amount", sa.Float))
    op.execute("UPDATE account_scores SET open_amount = not_yet_due_amount + overdue_amount")
    op.execute(COUNT)
    with op.batch_alter_table("account_scores") as batch:
        batch.alter_column("open_amount", existing_type=sa.Float, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("account_scores") as batch:
        batch.drop_column("open_amount")
    for old, new in reversed(RENAMES):
        with op.batch_alter_table("account_scores") as batch:
            batch.alter_column(new, new_column_name=old, existing_type=sa.Float, nullable=False)
