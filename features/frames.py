"""The feature table at the stage boundary: keys, then every catalogue feature, one row per
target invoice at its as-of date. The columns come from the catalogue, declared once there."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from features.catalogue import FEATURES


class FeatureKeys(pa.DataFrameModel):
    class Config:
        strict = False

    invoice_id: Series[str]
    customer_id: Series[str]
    as_of: Series[pa.DateTime]


class TrainingLabels(pa.DataFrameModel):
    """What a training row carries besides its features: the dates and the matured label."""

    class Config:
        strict = False

    issue_date: Series[pa.DateTime]
    due_date: Series[pa.DateTime]
    late: Series[bool]
    days_late: Series[float] = pa.Field(ge=0, nullable=True)
    weight: Series[float] = pa.Field(gt=0, le=1, description="1 / the invoice's rows")


def _text_or_missing(values: pd.Series) -> bool:
    return bool(values.dropna().map(type).eq(str).all())


def feature_schema(extra: tuple[str, ...] = (), training: bool = False) -> pa.DataFrameSchema:
    """The schema of a feature table (``training``: with its labels) for ``extra`` ledger columns."""
    columns = {
        f.name: pa.Column(float, nullable=True)
        if f.kind == "numeric"
        else pa.Column(None, nullable=True, checks=pa.Check(_text_or_missing, name="text"))
        for f in FEATURES
    }
    columns.update({name: pa.Column(None, nullable=True) for name in extra})
    schema = FeatureKeys.to_schema().add_columns(columns)
    if training:
        schema = schema.add_columns(TrainingLabels.to_schema().columns)
    return schema
