"""The score store: SQLite by default, PostgreSQL (or any SQLAlchemy URL) when configured.

A batch (one as-of date and model version) is written in one transaction that first deletes the
same batch: re-running replaces it, never duplicates it, and a crash mid-write leaves the
previous batch as it was. Readers never see half a batch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from serving.store import codec, tables

if TYPE_CHECKING:
    from models.decisions.scoring import ScoredBatch
    from serving.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
CHUNK_ROWS = 20_000
CONNECT_TIMEOUT = 5.0
STATEMENT_TIMEOUT = 10.0
"""Defaults of the ``store_*_timeout`` settings, in seconds."""
MAX_IN_LIST = 1_000
"""Filters on more ids than this read every row instead (SQLite limits bound parameters)."""
Progress = Callable[[int], None]
OUTSIDE_THE_STORE = (
    "files written with --out (score, worklist and export files)",
    "reports already written (precollect report and its HTML files)",
    "MLflow runs and artifacts (evaluation plots; models trained on the ledger)",
    "the ledger files themselves, and copies made of them",
)
"""What an erasure of the store cannot reach: erase these by hand."""


SQLITE_CACHE_KIB = 256 * 1024
"""Page cache per SQLite connection: a batch's indexes (millions of reason keys) stay in memory
while it is written, instead of being re-read page by page."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL: readers keep the old batch while one is written, and a batch is one transaction
    (atomic whatever happens). ``synchronous=NORMAL`` keeps a committed batch through a crash
    of the process (kill -9); a power cut may lose the last committed batch, whole, never
    half of it. The cache only changes speed."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def make_engine(
    url: str, connect_timeout: float = CONNECT_TIMEOUT, statement_timeout: float = STATEMENT_TIMEOUT
) -> sa.Engine:
    """An engine that gives up: on connecting after ``connect_timeout`` seconds, on a statement
    (or a lock) after ``statement_timeout``. A server that accepts and never answers costs a
    request seconds, not minutes."""
    backend = sa.make_url(url).get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        connect_args["timeout"] = statement_timeout  # waiting for another writer's lock
    elif backend == "postgresql":
        connect_args["connect_timeout"] = max(2, round(connect_timeout))  # libpq: whole seconds
    engine = sa.create_engine(
        url, pool_pre_ping=True, pool_timeout=connect_timeout, connect_args=connect_args
    )
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        milliseconds = int(statement_timeout * 1000)

        def _statement_timeout(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET statement_timeout = {milliseconds}")
            cursor.execute(f"SET lock_timeout = {milliseconds}")
            cursor.close()
            dbapi_connection.commit()

        sa.event.listen(engine, "connect", _statement_timeout)
    return engine


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), MAX_IN_LIST):
        yield values[start : start + MAX_IN_LIST]


def _records(frame: pd.DataFrame, columns: list[str]) -> Iterator[list[dict[str, Any]]]:
    """Rows as plain-Python dicts (NaN -> None), in chunks."""
    present = [c for c in columns if c in frame.columns]
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start : start + CHUNK_ROWS][present]
        part = part.astype(object).where(part.notna(), None)
        yield part.to_dict("records")


def _insert_frame(
    connection: sa.Connection,
    table: sa.Table,
    frame: pd.DataFrame,
    key: dict[str, Any],
    progress: Progress | None = None,
) -> None:
    """Insert a frame's rows (the table's columns it has) under the batch ``key``, in chunks,
    inside the caller's transaction.

    Rows are converted column by column with each column type's bind processor into plain
    tuples: SQLAlchemy's per-row parameter handling costs several times the database's insert
    itself at millions of rows. PostgreSQL takes them through ``COPY`` (psycopg's
    ``cursor.copy``), one ``COPY`` per chunk so that each stays within the statement timeout;
    other databases through the driver's ``executemany`` of one prepared insert.
    """
    dialect = connection.dialect
    names = [
        *key,
        *(c.name for c in table.columns if c.name in frame.columns and c.name not in key),
    ]
    copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
    if copy:
        quote = dialect.identifier_preparer.quote
        statement = (
            f"COPY {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(n) for n in names)}) FROM STDIN"
        )
        order = names
    else:
        compiled = table.insert().compile(dialect=dialect, column_keys=names)
        statement = compiled.string
        order = list(compiled.positiontup or []) if dialect.positional else names
    fixed = {name: _bind(table.c[name], [value], dialect)[0] for name, value in key.items()}
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start : start + CHUNK_ROWS]
        columns = {n: _bind(table.c[n], _plain_values(part[n]), dialect) for n in names[len(key) :]}
        values = [[fixed[n]] * len(part) if n in fixed else columns[n] for n in order]
        rows: list[Any] = list(zip(*values, strict=True))
        if copy:
            _copy_rows(connection, statement, rows)
        else:
            if not dialect.positional:
                rows = [dict(zip(order, row, strict=True)) for row in rows]
            connection.exec_driver_sql(statement, rows)
        if progress is not None:
            progress(len(part))


def _copy_rows(connection: sa.Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    """``COPY ... FROM STDIN`` of ``rows`` on the connection's own psycopg connection, so in
    its open transaction: a batch is still all or nothing."""
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def read_frame(connection: sa.Connection, query: sa.Select[Any]) -> pd.DataFrame:
    """``pd.read_sql(query, connection)``, read in bulk: the driver's rows as they come (one
    ``fetchall``), then each column that needs it converted once by its type's result processor
    (SQLAlchemy's per-row result handling costs more than the read itself at a million rows)."""
    result = connection.execute(query)
    names = list(result.keys())
    assert result.cursor is not None
    frame = pd.DataFrame.from_records(result.cursor.fetchall(), columns=names, coerce_float=True)
    dialect = connection.dialect
    kinds = [d[1] for d in result.cursor.description or ()]
    for name, column, kind in zip(names, query.selected_columns, kinds, strict=True):
        process = column.type.dialect_impl(dialect).result_processor(dialect, kind)
        if process is not None and len(frame):
            frame[name] = [process(v) for v in frame[name].tolist()]
        if isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].dt.tz_convert("UTC")  # as pd.read_sql gives them
    result.close()
    return frame


def _plain_values(column: pd.Series) -> list[Any]:
    """Python values, missing ones as None."""
    values = column.to_numpy(dtype=object, copy=True)  # object columns give a read-only view
    values[column.isna().to_numpy()] = None
    return values.tolist()


def _bind(column: sa.Column[Any], values: list[Any], dialect: sa.Dialect) -> list[Any]:
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return values if process is None else [process(v) for v in values]


def utc(value: datetime | pd.Timestamp) -> datetime:
    """An instant as a UTC datetime; a naive one is taken to be UTC already.

    SQLite keeps no offset: ``23:30-05:00`` would be stored as ``23:30``, five hours early.
    """
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def _contact_key(row: dict[str, Any]) -> tuple[str, datetime, str, str]:
    return (
        str(row["customer_id"]),
        utc(row["contacted_at"]),
        str(row["channel"]),
        str(row.get("invoice_id") or ""),
    )


def describe_failure(url: str, exc: sa.exc.SQLAlchemyError) -> str:
    """One line for a user: which store, and the database's own reason without SQL or values."""
    reason = str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()
    shown = sa.make_url(url).render_as_string(hide_password=True)
    return f"the score store {shown} cannot be used: {reason[0] if reason else type(exc).__name__}"


class ScoreStore:
    """Batches of scores, the worklist and the contact history in one database."""

    def __init__(
        self,
        url: str,
        connect_timeout: float = CONNECT_TIMEOUT,
        statement_timeout: float = STATEMENT_TIMEOUT,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, connect_timeout, statement_timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> ScoreStore:
        """The configured store, with the configured timeouts."""
        return cls(
            settings.store_url, settings.store_connect_timeout, settings.store_statement_timeout
        )

    def migrate(self) -> None:
        """Create or upgrade the schema to the latest revision (Alembic)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    # -- batches --------------------------------------------------------------------------------

    def write_scored(self, batch: ScoredBatch, progress: Progress | None = None) -> None:
        """Replace the stored batch with a scoring run's results (see :meth:`write_batch`)."""
        self.write_batch(
            as_of=batch.as_of,
            model_version=batch.model_version,
            invoices=batch.invoices,
            accounts=batch.accounts,
            reasons=batch.reasons,
            p_base=batch.p_base,
            progress=progress,
        )

    def write_batch(
        self,
        *,
        as_of: pd.Timestamp,
        model_version: str,
        invoices: pd.DataFrame,
        accounts: pd.DataFrame,
        reasons: pd.DataFrame,
        p_base: float,
        progress: Progress | None = None,
    ) -> None:
        """Replace the batch ``(as_of, model_version)`` in one transaction."""
        key = {"as_of": pd.Timestamp(as_of).date(), "model_version": str(model_version)}
        frames = {
            tables.invoice_scores: codec.with_reason_lists(
                invoices, "invoice_id", reasons[reasons["level"] == "invoice"]
            ),
            tables.account_scores: codec.with_reason_lists(
                accounts, "customer_id", reasons[reasons["level"] == "account"]
            ).assign(effects=codec.effects_json(accounts)),
            tables.reasons: reasons.assign(value=codec.texts_or_none(reasons["value"])),
        }
        with self.engine.begin() as connection:
            for table in (*tables.BATCH_TABLES, tables.batches):
                connection.execute(
                    table.delete().where(
                        table.c.as_of == key["as_of"], table.c.model_version == key["model_version"]
                    )
                )
            for table, frame in frames.items():
                _insert_frame(connection, table, frame, key, progress)
            connection.execute(
                tables.batches.insert(),
                [
                    {
                        **key,
                        "created_at": datetime.now(UTC),
                        "invoices": len(invoices),
                        "accounts": len(accounts),
                        "p_base": float(p_base),
                    }
                ],
            )

    def batches(self) -> pd.DataFrame:
        with self.engine.connect() as connection:
            query = sa.select(tables.batches).order_by(
                tables.batches.c.as_of.desc(), tables.batches.c.created_at.desc()
            )
            return pd.read_sql(query, connection)

    def latest_batch(self, as_of: pd.Timestamp | None = None) -> dict[str, Any] | None:
        """The most recent batch (on ``as_of`` if given)."""
        query = sa.select(tables.batches)
        if as_of is not None:
            query = query.where(tables.batches.c.as_of == pd.Timestamp(as_of).date())
        query = query.order_by(tables.batches.c.as_of.desc(), tables.batches.c.created_at.desc())
        with self.engine.connect() as connection:
            row = connection.execute(query.limit(1)).mappings().first()
        return dict(row) if row else None

    def batch_frames(self, as_of: pd.Timestamp, model_version: str) -> dict[str, pd.DataFrame]:
        """Invoices, accounts and reasons of one batch."""
        key = (pd.Timestamp(as_of).date(), str(model_version))
        out = {}
        with self.engine.connect() as connection:
            for table in tables.BATCH_TABLES:
                query = sa.select(table).where(
                    table.c.as_of == key[0], table.c.model_version == key[1]
                )
                out[table.name] = read_frame(connection, query)
        return out

    def latest_score(self, level: str, key: str) -> dict[str, Any] | None:
        """The latest stored score of an invoice (``level='invoice'``) or account: from the
        most recent as-of date, and of that day the batch written last."""
        table = tables.invoice_scores if level == "invoice" else tables.account_scores
        column = table.c.invoice_id if level == "invoice" else table.c.customer_id
        batches = tables.batches
        query = (
            sa.select(table)
            .join(
                batches,
                (batches.c.as_of == table.c.as_of)
                & (batches.c.model_version == table.c.model_version),
            )
            .where(column == key)
            .order_by(table.c.as_of.desc(), batches.c.created_at.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return {**row, "reasons": codec.decode_reasons(row["reasons"])}

    # -- worklist and contacts ------------------------------------------------------------------

    def write_worklist(self, as_of: pd.Timestamp, model_version: str, frame: pd.DataFrame) -> None:
        key = {"as_of": pd.Timestamp(as_of).date(), "model_version": str(model_version)}
        table = tables.worklist
        with self.engine.begin() as connection:
            connection.execute(
                table.delete().where(
                    table.c.as_of == key["as_of"], table.c.model_version == key["model_version"]
                )
            )
            columns = [c.name for c in table.columns if c.name not in tables.BATCH_KEY]
            for chunk in _records(frame, columns):
                connection.execute(table.insert(), [{**row, **key} for row in chunk])

    def worklist(
        self,
        as_of: pd.Timestamp | None = None,
        limit: int | None = None,
        treatment: str | None = None,
    ) -> pd.DataFrame:
        table = tables.worklist
        batch = self.latest_batch(as_of)
        if batch is None:
            return pd.DataFrame(columns=[c.name for c in table.columns])
        query = sa.select(table).where(
            table.c.as_of == batch["as_of"], table.c.model_version == batch["model_version"]
        )
        if treatment:
            query = query.where(table.c.treatment == treatment)
        query = query.order_by(table.c.rank)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            return pd.read_sql(query, connection)

    def record_contact(
        self,
        customer_id: str,
        contacted_at: datetime,
        channel: str,
        invoice_id: str | None = None,
        outcome: str | None = None,
        recorded_by: str | None = None,
    ) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                tables.contacts.insert().values(
                    customer_id=customer_id,
                    contacted_at=utc(contacted_at),
                    channel=channel,
                    invoice_id=invoice_id,
                    outcome=outcome,
                    recorded_by=recorded_by,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def record_contacts(self, frame: pd.DataFrame, recorded_by: str) -> tuple[int, int]:
        """Record many contacts (columns of :data:`tables.contacts`) in one transaction: all or
        none. A contact already stored (same customer, instant, channel and invoice) is skipped,
        so importing a file twice records it once. Returns (recorded, skipped)."""
        rows = [
            {
                "customer_id": str(r["customer_id"]),
                "contacted_at": utc(r["contacted_at"]),
                "channel": str(r["channel"]),
                "invoice_id": r.get("invoice_id"),
                "outcome": r.get("outcome"),
                "recorded_by": recorded_by,
            }
            for r in frame.astype(object).where(frame.notna(), None).to_dict("records")
        ]
        table = tables.contacts
        customers = sorted({r["customer_id"] for r in rows})
        known = sa.select(table.c.customer_id, table.c.contacted_at, table.c.channel).add_columns(
            table.c.invoice_id
        )
        with self.engine.begin() as connection:
            seen = set()
            for start in range(0, len(customers), MAX_IN_LIST):
                part = customers[start : start + MAX_IN_LIST]
                query = known.where(table.c.customer_id.in_(part))
                seen |= {_contact_key(dict(r)) for r in connection.execute(query).mappings()}
            new = []
            for row in rows:
                if (key := _contact_key(row)) not in seen:
                    seen.add(key)
                    new.append(row)
            if new:
                connection.execute(table.insert(), new)
        return len(new), len(rows) - len(new)

    def contacts(
        self,
        since: datetime | None = None,
        customer_id: str | None = None,
        customer_ids: list[str] | None = None,
    ) -> pd.DataFrame:
        """Stored contacts (``contacted_at`` in UTC), oldest first."""
        query = sa.select(tables.contacts)
        if since is not None:
            query = query.where(tables.contacts.c.contacted_at >= utc(since))
        if customer_id is not None:
            query = query.where(tables.contacts.c.customer_id == customer_id)
        if customer_ids is not None and len(customer_ids) <= MAX_IN_LIST:
            query = query.where(tables.contacts.c.customer_id.in_(customer_ids))
        with self.engine.connect() as connection:
            frame = pd.read_sql(query.order_by(tables.contacts.c.contacted_at), connection)
        frame["contacted_at"] = pd.to_datetime(frame["contacted_at"], utc=True)
        return frame

    def set_flags(self, frame: pd.DataFrame) -> None:
        """Upsert do-not-contact flags and queues (columns: customer_id, do_not_contact, queue)."""
        table = tables.customer_flags
        with self.engine.begin() as connection:
            connection.execute(
                table.delete().where(table.c.customer_id.in_(frame["customer_id"].tolist()))
            )
            for chunk in _records(frame, ["customer_id", "do_not_contact", "queue"]):
                connection.execute(table.insert(), chunk)

    # -- erasure --------------------------------------------------------------------------------

    def erase(self, customer_ids: list[str], erased_by: str) -> dict[str, int]:
        """Delete every row of these customers from every table, in one transaction.

        Tables are found from :mod:`serving.store.tables`: each with a ``customer_id`` column,
        and the reasons of the customers' accounts and invoices. An audit row (who, when, how
        many rows; no ids) is written in the same transaction. Returns rows deleted by table.
        """
        ids = sorted(set(customer_ids))
        deleted: dict[str, int] = {}
        with self.engine.begin() as connection:
            scored = tables.invoice_scores
            invoices = [
                row[0]
                for chunk in _chunks(ids)
                for row in connection.execute(
                    sa.select(scored.c.invoice_id).distinct().where(scored.c.customer_id.in_(chunk))
                )
            ]
            reasons = tables.reasons
            for level, keys in (("account", ids), ("invoice", invoices)):
                for chunk in _chunks(keys):
                    result = connection.execute(
                        reasons.delete().where(reasons.c.level == level, reasons.c.key.in_(chunk))
                    )
                    deleted[reasons.name] = deleted.get(reasons.name, 0) + result.rowcount
            for table in tables.metadata.sorted_tables:
                if "customer_id" not in table.c:
                    continue
                for chunk in _chunks(ids):
                    result = connection.execute(
                        table.delete().where(table.c.customer_id.in_(chunk))
                    )
                    deleted[table.name] = deleted.get(table.name, 0) + result.rowcount
            connection.execute(
                tables.erasures.insert().values(
                    erased_at=datetime.now(UTC),
                    erased_by=erased_by[:64],
                    customers=len(ids),
                    rows=sum(deleted.values()),
                    tables=json.dumps(deleted, sort_keys=True),
                )
            )
        return deleted

    def erasures(self) -> pd.DataFrame:
        """The erasure audit trail, oldest first."""
        with self.engine.connect() as connection:
            query = sa.select(tables.erasures).order_by(tables.erasures.c.erasure_id)
            return pd.read_sql(query, connection)

    def last_erasure(self) -> int:
        """The id of the latest erasure (0 before any): cached views reload when it moves."""
        with self.engine.connect() as connection:
            value = connection.execute(sa.select(sa.func.max(tables.erasures.c.erasure_id)))
            return int(value.scalar() or 0)

    def flags(self, customer_ids: list[str] | None = None) -> pd.DataFrame:
        query = sa.select(tables.customer_flags)
        if customer_ids is not None and len(customer_ids) <= MAX_IN_LIST:
            query = query.where(tables.customer_flags.c.customer_id.in_(customer_ids))
        with self.engine.connect() as connection:
            return pd.read_sql(query, connection)
