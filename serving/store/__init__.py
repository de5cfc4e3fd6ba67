"""The score store: tables, migrations, writes and reads of scored batches."""
