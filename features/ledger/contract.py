"""Run the ledger contract (:mod:`features.ledger.schema`) and list the rows that break it.

Validation is lazy: every rule is checked on every row and all failures are reported at once.
Nothing is dropped silently: for each table, ``rows_in == rows_valid + rows_quarantined``.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pandera.pandas as pa

from features.ledger.coerce import Coerced
from features.ledger.schema import TABLES, Context, checking


def rule_failures(table: str, coerced: Coerced, ctx: Context) -> pd.DataFrame:
    """Check ``table``'s rules lazily; one row per (row index, broken rule), sorted.

    Raises:
        TypeError: a column has the wrong type after coercion (a bug, not a bad row).
    """
    try:
        with checking(replace(ctx, unparseable=coerced.unparseable)):
            TABLES[table].validate(coerced.frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        whole_column = cases[cases["index"].isna()]
        if len(whole_column):
            first = whole_column.iloc[0]
            raise TypeError(f"{table}.{first['column']}: {first['check']} after coercion") from None
        return (
            cases[["index", "check"]]
            .rename(columns={"check": "rule"})
            .astype({"index": "int64", "rule": "string"})
            .drop_duplicates()
            .sort_values(["index", "rule"])
            .reset_index(drop=True)
        )
    return pd.DataFrame(
        {"index": pd.Series([], dtype="int64"), "rule": pd.Series([], dtype="string")}
    )
