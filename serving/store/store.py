"""The score store: SQLite by default, PostgreSQL (or any SQLAlchemy URL) when configured.

A batch (one as-of date and model version) is written in one transaction that first deletes the
same batch: re-running replaces it, never duplicates it, and a crash mid-write leaves the
previous batch as it was. Readers never see half a batch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
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


CONTACT_CONTENT = (
    "customer_id",
    "contacted_at",
    "channel",
    "invoice_id",
    "outcome",
    "promised_date",
    "promised_amount",
    "note",
)
"""What a contact says: the same idempotency key with other content is a conflict."""


class ContactConflict(ValueError):
    """An idempotency key already stands for a contact with other content.

    ``positions`` are the 0-based rows of the import (or ``[0]`` for one posted contact)."""

    def __init__(self, positions: list[int]) -> None:
        super().__init__(f"{len(positions)} contacts reuse a stored key with other content")
        self.positions = positions


def derived_key(
    customer_id: str, contacted_at: datetime, channel: str, invoice_id: str | None
) -> str:
    """The idempotency key of a contact sent without one: who, when (UTC), how, which invoice.

    Revision 0004 gave the rows stored before it the same key (its copy of this rule is frozen)."""
    text = "\x1f".join([customer_id, utc(contacted_at).isoformat(), channel, invoice_id or ""])
    return "auto-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def contact_row(values: dict[str, Any], recorded_by: str | None) -> dict[str, Any]:
    """A contact as stored: the instant in UTC, the promise date a date, the key filled in."""
    row = {name: _plain(values.get(name)) for name in CONTACT_CONTENT}
    row["customer_id"] = str(row["customer_id"])
    row["channel"] = str(row["channel"])
    row["contacted_at"] = utc(row["contacted_at"])
    if row["promised_date"] is not None:
        row["promised_date"] = pd.Timestamp(row["promised_date"]).date()
    if row["promised_amount"] is not None:
        row["promised_amount"] = float(row["promised_amount"])
    key = _plain(values.get("idempotency_key"))
    row["idempotency_key"] = (
        str(key)
        if key
        else derived_key(row["customer_id"], row["contacted_at"], row["channel"], row["invoice_id"])
    )
    row["recorded_by"] = recorded_by
    return row


def _same_content(stored: dict[str, Any], row: dict[str, Any]) -> bool:
    for name in CONTACT_CONTENT:
        old, new = _plain(stored.get(name)), row[name]
        if name == "contacted_at" and old is not None:
            old = utc(old)
        elif name == "promised_date" and old is not None:
            old = pd.Timestamp(old).date()
        elif name == "promised_amount" and old is not None and new is not None:
            if abs(float(old) - float(new)) > 1e-9:
                return False
            continue
        if old != new:
            return False
    return True


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

    def migrate(self, revision: str = "head") -> None:
        """Create or upgrade the schema to the latest revision (Alembic), or to ``revision``."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

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
            pay_dates=batch.pay_dates,
            pay_date_reasons=batch.pay_date_reasons,
            forecast=batch.forecast,
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
        pay_dates: pd.DataFrame | None = None,
        pay_date_reasons: pd.DataFrame | None = None,
        forecast: pd.DataFrame | None = None,
    ) -> None:
        """Replace the batch ``(as_of, model_version)`` in one transaction: its scores, reasons
        and, when a pay-date model scored it, pay dates (with their reasons, long form keyed by
        ``invoice_id``) and cash forecast."""
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
        if pay_dates is not None:
            frames[tables.pay_dates] = (
                pay_dates
                if pay_date_reasons is None
                else codec.with_reason_lists(pay_dates, "invoice_id", pay_date_reasons)
            )
        if forecast is not None:
            frames[tables.forecast_weeks] = forecast
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

    def batch_column(self, as_of: object, model_version: str, column: str) -> pd.Series:
        """One column of a batch's scored invoices, by ``invoice_id``."""
        table = tables.invoice_scores
        query = sa.select(table.c.invoice_id, table.c[column]).where(
            table.c.as_of == pd.Timestamp(as_of).date(), table.c.model_version == model_version
        )
        with self.engine.connect() as connection:
            frame = pd.read_sql(query, connection)
        return frame.set_index("invoice_id")[column]

    def pay_date(self, invoice_id: str, as_of: object, model_version: str) -> dict[str, Any] | None:
        """One invoice's pay dates in one batch."""
        table = tables.pay_dates
        query = sa.select(table).where(
            table.c.invoice_id == invoice_id,
            table.c.as_of == pd.Timestamp(as_of).date(),
            table.c.model_version == model_version,
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return {**row, "reasons": codec.decode_reasons(row["reasons"])}

    def customer_rows(
        self, table: str, customer_id: str, as_of: object, model_version: str
    ) -> pd.DataFrame:
        """One customer's rows of a batch table (``pay_dates``, ``invoice_scores``, ...)."""
        found = tables.metadata.tables[table]
        query = sa.select(found).where(
            found.c.customer_id == customer_id,
            found.c.as_of == pd.Timestamp(as_of).date(),
            found.c.model_version == str(model_version),
        )
        with self.engine.connect() as connection:
            return read_frame(connection, query)

    def forecast(self, as_of: pd.Timestamp | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
        """The weekly cash-in forecast of the latest batch that has one (on ``as_of`` if
        given), with that batch; an empty frame when none was stored."""
        table, batches = tables.forecast_weeks, tables.batches
        week_columns = [c for c in table.columns if c.name not in tables.BATCH_KEY]
        query = sa.select(batches).where(
            sa.exists().where(
                (table.c.as_of == batches.c.as_of)
                & (table.c.model_version == batches.c.model_version)
            )
        )
        if as_of is not None:
            query = query.where(batches.c.as_of == pd.Timestamp(as_of).date())
        query = query.order_by(batches.c.as_of.desc(), batches.c.created_at.desc()).limit(1)
        with self.engine.connect() as connection:
            batch = connection.execute(query).mappings().first()
            if batch is None:
                return {}, pd.DataFrame(columns=[c.name for c in week_columns])
            weeks = sa.select(*week_columns).where(
                table.c.as_of == batch["as_of"], table.c.model_version == batch["model_version"]
            )
            frame = pd.read_sql(weeks.order_by(table.c.week_start), connection)
        return dict(batch), frame

    def scored_invoices(
        self, since: pd.Timestamp, until: pd.Timestamp, columns: tuple[str, ...]
    ) -> pd.DataFrame:
        """``columns`` of the invoice scores of batches dated in ``(since, until]``; of a day
        scored by several model versions, the batch written last."""
        batches = self.batches()
        if batches.empty:
            return pd.DataFrame(columns=list(columns))
        day = pd.to_datetime(batches["as_of"])
        chosen = batches[((day > since) & (day <= until)).to_numpy()].drop_duplicates("as_of")
        table = tables.invoice_scores
        frames = []
        with self.engine.connect() as connection:
            for row in chosen.itertuples():
                query = sa.select(*(table.c[c] for c in columns)).where(
                    table.c.as_of == row.as_of, table.c.model_version == row.model_version
                )
                frames.append(pd.read_sql(query, connection))
        return (
            pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))
        )

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

    def worklist_history(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """The worklists of the days from ``start`` to ``end``: each day's latest batch."""
        batches = self.batches()
        if batches.empty:
            return pd.DataFrame(columns=[c.name for c in tables.worklist.columns])
        days = pd.to_datetime(batches["as_of"])
        inside = batches[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]
        latest = inside.drop_duplicates("as_of")  # batches() is newest first within a day
        table = tables.worklist
        frames = []
        with self.engine.connect() as connection:
            for batch in latest.itertuples():
                query = sa.select(table).where(
                    table.c.as_of == batch.as_of, table.c.model_version == batch.model_version
                )
                frames.append(pd.read_sql(query.order_by(table.c.rank), connection))
        if not frames:
            return pd.DataFrame(columns=[c.name for c in table.columns])
        return pd.concat(frames, ignore_index=True)

    def record_contact(
        self,
        customer_id: str,
        contacted_at: datetime,
        channel: str,
        invoice_id: str | None = None,
        outcome: str | None = None,
        recorded_by: str | None = None,
        *,
        promised_date: date | None = None,
        promised_amount: float | None = None,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[int, bool]:
        """Store one contact once: returns its id and whether it was new. The same key (given,
        else derived from who, when, how and which invoice) returns the stored id.

        Raises:
            ContactConflict: the key is stored with other content.
        """
        row = contact_row(
            {
                "customer_id": customer_id,
                "contacted_at": contacted_at,
                "channel": channel,
                "invoice_id": invoice_id,
                "outcome": outcome,
                "promised_date": promised_date,
                "promised_amount": promised_amount,
                "note": note,
                "idempotency_key": idempotency_key,
            },
            recorded_by,
        )
        for attempt in range(2):  # a concurrent post of the same key wins the insert race
            try:
                with self.engine.begin() as connection:
                    stored = self._by_keys(connection, [row["idempotency_key"]])
                    if (found := stored.get(row["idempotency_key"])) is not None:
                        if not _same_content(found, row):
                            raise ContactConflict([0])
                        return int(found["contact_id"]), False
                    result = connection.execute(tables.contacts.insert().values(**row))
                    key = result.inserted_primary_key
                    assert key is not None
                    return int(key[0]), True
            except sa.exc.IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _by_keys(connection: sa.Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
        table = tables.contacts
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(sorted(set(keys))):
            query = sa.select(table).where(table.c.idempotency_key.in_(chunk))
            found.update(
                {r["idempotency_key"]: dict(r) for r in connection.execute(query).mappings()}
            )
        return found

    def record_contacts(self, frame: pd.DataFrame, recorded_by: str) -> tuple[int, int]:
        """Record many contacts (columns of :data:`tables.contacts`) in one transaction: all or
        none. A contact already stored (same idempotency key, same content) is skipped, so
        importing a file twice records it once. Returns (recorded, skipped).

        Raises:
            ContactConflict: rows whose key is stored (or repeated in the frame) with other
                content; nothing is recorded.
        """
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        rows = [contact_row(r, recorded_by) for r in records]
        with self.engine.begin() as connection:
            stored = self._by_keys(connection, [r["idempotency_key"] for r in rows])
            first: dict[str, dict[str, Any]] = {}
            new, conflicts = [], []
            for position, row in enumerate(rows):
                key = row["idempotency_key"]
                earlier = stored.get(key) or first.get(key)
                if earlier is None:
                    first[key] = row
                    new.append(row)
                elif not _same_content(earlier, row):
                    conflicts.append(position)
            if conflicts:
                raise ContactConflict(conflicts)
            for start in range(0, len(new), CHUNK_ROWS):
                connection.execute(tables.contacts.insert(), new[start : start + CHUNK_ROWS])
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

    # -- monitoring -----------------------------------------------------------------------------

    def write_monitoring(self, report: dict[str, Any], model_version: str) -> None:
        """Replace the monitor run of ``(report["as_of"], model_version)``: the report in one
        row, its deteriorating accounts in their own table (erasable by customer)."""
        key = {"as_of": pd.Timestamp(report["as_of"]).date(), "model_version": str(model_version)}
        accounts = report.get("accounts") or []
        kept = {k: v for k, v in report.items() if k != "accounts"}
        kept["accounts_deteriorating"] = len({a["customer_id"] for a in accounts})
        with self.engine.begin() as connection:
            for table in (tables.monitoring_accounts, tables.monitoring_runs):
                connection.execute(
                    table.delete().where(
                        table.c.as_of == key["as_of"], table.c.model_version == key["model_version"]
                    )
                )
            connection.execute(
                tables.monitoring_runs.insert(),
                [
                    {
                        **key,
                        "created_at": datetime.now(UTC),
                        "alerts": len(report.get("alerts") or []),
                        "report": json.dumps(kept, allow_nan=False),
                    }
                ],
            )
            columns = [c.name for c in tables.monitoring_accounts.columns]
            rows = [{**key, **{c: a[c] for c in columns if c in a}} for a in accounts]
            if rows:
                connection.execute(tables.monitoring_accounts.insert(), rows)

    def monitoring_runs(self, until: pd.Timestamp | None = None, limit: int = 400) -> pd.DataFrame:
        """Stored monitor runs (``as_of, model_version, created_at, alerts, report``), newest
        first, one per day (the latest written), on or before ``until`` if given."""
        table = tables.monitoring_runs
        query = sa.select(table)
        if until is not None:
            query = query.where(table.c.as_of <= pd.Timestamp(until).date())
        query = query.order_by(table.c.as_of.desc(), table.c.created_at.desc()).limit(limit)
        with self.engine.connect() as connection:
            frame = pd.read_sql(query, connection)
        return frame.drop_duplicates("as_of").reset_index(drop=True)

    def monitoring_report(self, as_of: pd.Timestamp | None = None) -> dict[str, Any] | None:
        """The latest stored monitor report (on ``as_of`` if given) with its account list."""
        runs = self.monitoring_runs(until=as_of, limit=1 if as_of is None else 400)
        if as_of is not None:
            runs = runs[pd.to_datetime(runs["as_of"]) == pd.Timestamp(as_of).normalize()]
        if runs.empty:
            return None
        run = runs.iloc[0]
        table = tables.monitoring_accounts
        query = (
            sa.select(table)
            .where(table.c.as_of == run["as_of"], table.c.model_version == run["model_version"])
            .order_by(table.c.severity.desc(), table.c.customer_id)
        )
        with self.engine.connect() as connection:
            accounts = pd.read_sql(query, connection).drop(columns=["as_of", "model_version"])
        report = json.loads(run["report"])
        report["accounts"] = accounts.to_dict("records")
        return {
            "as_of": run["as_of"],
            "model_version": str(run["model_version"]),
            "created_at": utc(run["created_at"]),  # SQLite gives it back without its offset
            "report": report,
        }

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

    def session_epoch(self, key_name: str) -> int:
        """The epoch of the key's pages sessions (0 before its first logout)."""
        table = tables.session_epochs
        with self.engine.connect() as connection:
            found = connection.execute(
                sa.select(table.c.epoch).where(table.c.key_name == key_name)
            ).scalar()
        return int(found or 0)

    def end_sessions(self, key_name: str) -> int:
        """Move the key's session epoch on, ending every session opened before; returns it."""
        table = tables.session_epochs
        try:
            return self._next_epoch(table, key_name)
        except sa.exc.IntegrityError:  # another worker wrote the key's first epoch meanwhile
            return self._next_epoch(table, key_name)

    def _next_epoch(self, table: sa.Table, key_name: str) -> int:
        with self.engine.begin() as connection:
            current = connection.execute(
                sa.select(table.c.epoch).where(table.c.key_name == key_name).with_for_update()
            ).scalar()
            if current is None:
                connection.execute(table.insert().values(key_name=key_name, epoch=1))
                return 1
            connection.execute(
                table.update().where(table.c.key_name == key_name).values(epoch=current + 1)
            )
            return int(current) + 1

    def flags(self, customer_ids: list[str] | None = None) -> pd.DataFrame:
        query = sa.select(tables.customer_flags)
        if customer_ids is not None and len(customer_ids) <= MAX_IN_LIST:
            query = query.where(tables.customer_flags.c.customer_id.in_(customer_ids))
        with self.engine.connect() as connection:
            return pd.read_sql(query, connection)
