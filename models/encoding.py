"""Turn feature frames into the model's matrix: fixed column order, categories as codes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.exceptions import NotFittedError

from features.build import row_count
from features.catalogue import describe

MAX_CATEGORIES = 50
ALWAYS_KNOWN = 0.01
"""A categorical column that training rows lacked less often than this share was always known in
training; a row that lacks it is scored as the mix of the training categories (see
:meth:`FeatureEncoder.mixture`), not as a "not known" value the model never learnt."""
FeatureTable: TypeAlias = pd.DataFrame | Mapping[str, np.ndarray]
"""Feature rows as a frame, or as numpy columns by name (:meth:`features.build.History.columns`)."""


@dataclass
class FeatureEncoder:
    """Estimator-style encoder; ``fit`` learns the categories seen in training.

    Unknown or missing categories become NaN, which LightGBM treats as missing. ``transform``
    converts all numeric columns in one block and codes each categorical column by factorizing
    it once; given numpy columns instead of a frame (a few online invoices), it skips pandas'
    column selection.
    """

    features: list[str]
    max_categories: int = MAX_CATEGORIES
    extra_categorical: tuple[str, ...] = ()
    """Ledger columns (not in the catalogue) holding text: coded as categories too."""
    categories_: dict[str, list[str]] = field(default_factory=dict, init=False)
    codes_: dict[str, dict[str, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    shares_: dict[str, tuple[float, ...]] = field(default_factory=dict, init=False, repr=False)
    """Per categorical column, each category's share of the training rows (``categories_``
    order); the rest of the rows had no value, or a rarer one."""

    @property
    def categorical(self) -> list[str]:
        extra = set(self.extra_categorical)
        return [f for f in self.features if f in extra or describe(f).kind == "categorical"]

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        return self.fit_counts({name: category_counts(frame[name]) for name in self.categorical})

    def fit_counts(self, counts: Mapping[str, pd.Series]) -> FeatureEncoder:
        """Learn the categories from each categorical column's value counts (however they were
        counted: in memory or partition by partition, missing values included as NA): the
        ``max_categories`` most frequent, ties by value, and their shares of the rows."""
        self.categories_, self.shares_ = {}, {}
        for name in self.categorical:
            seen = counts[name]
            known = seen[seen.index.notna()]
            ranked = sorted(
                zip(known.index.astype(str), known.to_numpy(), strict=True),
                key=lambda vc: (-vc[1], vc[0]),
            )
            kept = dict(ranked[: self.max_categories])
            self.categories_[name] = sorted(kept)
            total = max(float(seen.sum()), 1.0)
            self.shares_[name] = tuple(float(kept[v]) / total for v in self.categories_[name])
        self.codes_ = _code_lookups(self.categories_)
        return self

    def always_known(self) -> dict[int, np.ndarray]:
        """Matrix column -> category shares, for the categorical columns training always knew.

        Models pickled before ``shares_`` existed have none: they keep reading a missing value
        as the model learnt it."""
        shares = {n: np.array(s) for n, s in self.__dict__.get("shares_", {}).items()}
        return {
            self.features.index(name): share / share.sum()
            for name, share in shares.items()
            if share.sum() > 1 - ALWAYS_KNOWN
        }

    def mixture(self, matrix: np.ndarray) -> Mixture:
        """The rows to predict so that a value training always knew, absent from a row, does not
        move its score: such a row becomes one row per training category, each weighted by that
        category's share (several absent columns: every combination, shares multiplied).

        A prediction of the row is then the weighted sum over its copies
        (:meth:`Mixture.collapse`); for raw scores and TreeSHAP values (both additive) that is
        the expected value over the training mix of the absent column."""
        n = len(matrix)
        owner, weight = np.arange(n), np.ones(n)
        for column, shares in self.always_known().items():
            absent = np.isnan(matrix[:, column])
            if not absent.any():
                continue
            copies = np.where(absent, len(shares), 1)  # in place: each row's copies follow it
            at = np.repeat(np.arange(len(matrix)), copies)
            matrix, owner, weight = matrix[at], owner[at], weight[at]
            mixed = absent[at]
            code = np.arange(len(at)) - np.repeat(np.cumsum(copies) - copies, copies)
            matrix[mixed, column] = code[mixed]
            weight[mixed] *= shares[code[mixed]]
        return Mixture(matrix, owner, weight, n)

    def transform(self, frame: FeatureTable) -> np.ndarray:
        """The float matrix in ``features`` order, from a frame or numpy columns by name."""
        if not self.categories_ and self.categorical:
            raise NotFittedError("FeatureEncoder is not fitted; call fit first")
        missing = [f for f in self.features if f not in frame]
        if missing:
            raise KeyError(f"feature frame lacks columns {missing}")
        lookups = self._lookups()
        out = np.empty((row_count(frame), len(self.features)), dtype="float64")
        numeric = [i for i, name in enumerate(self.features) if name not in lookups]
        if numeric and isinstance(frame, pd.DataFrame):
            out[:, numeric] = _numeric_block(frame[[self.features[i] for i in numeric]])
        elif numeric:
            for i in numeric:
                out[:, i] = _numeric_column(frame[self.features[i]])
        for i, name in enumerate(self.features):
            if name in lookups:
                out[:, i] = _category_codes(frame[name], lookups[name])
        return out

    def _lookups(self) -> dict[str, dict[str, int]]:
        # models pickled before ``codes_`` existed only carry ``categories_``
        if self.__dict__.get("codes_", {}).keys() != self.categories_.keys():
            self.codes_ = _code_lookups(self.categories_)
        return self.codes_

    def categorical_indices(self) -> list[int]:
        return [self.features.index(name) for name in self.categories_]

    def decode(self, name: str, code: float) -> str | float:
        """The category behind a code, for explanations."""
        if name not in self.categories_ or np.isnan(code):
            return code
        return self.categories_[name][int(code)]


@dataclass(frozen=True)
class Mixture:
    """Rows to predict (``rows``), each standing for row ``owner`` of the original matrix with
    ``weight``; a row's weights sum to 1."""

    rows: np.ndarray
    owner: np.ndarray
    weight: np.ndarray
    n: int

    @property
    def mixed(self) -> bool:
        return len(self.rows) != self.n

    def collapse(self, values: np.ndarray) -> np.ndarray:
        """Per original row, the weighted sum of its copies' ``values`` (n,) or (n, k)."""
        if not self.mixed:  # one row each, in order, weight 1: nothing to collapse
            return values
        weighted = values * self.weight.reshape(-1, *([1] * (values.ndim - 1)))
        out = np.zeros((self.n, *values.shape[1:]))
        np.add.at(out, self.owner, weighted)
        return out


def category_counts(values: pd.Series) -> pd.Series:
    """A categorical column's value counts as text, with the rows lacking a value (as NA)."""
    return values.astype("string").value_counts(dropna=False)


def _code_lookups(categories: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    return {
        name: {value: code for code, value in enumerate(values)}
        for name, values in categories.items()
    }


def _numeric_block(block: pd.DataFrame) -> np.ndarray:
    """Numeric columns as floats in one conversion; only non-numeric columns are coerced."""
    coerce = {
        name: pd.to_numeric(block[name], errors="coerce")
        for name, dtype in block.dtypes.items()
        if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))
    }
    if coerce:
        block = block.assign(**{str(name): values for name, values in coerce.items()})
    return block.to_numpy("float64", na_value=np.nan)


def _numeric_column(values: np.ndarray) -> np.ndarray:
    """One numpy column as floats; anything that is not a number becomes NaN."""
    if values.dtype.kind in "biuf":
        return values.astype("float64", copy=False)
    return _numeric_block(pd.DataFrame({"column": values}))[:, 0]


def _category_codes(values: pd.Series | np.ndarray, lookup: dict[str, int]) -> np.ndarray:
    """Codes of a column's values as text; unknown or missing values give NaN."""
    if isinstance(values, pd.Series) and not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")
    codes, uniques = pd.factorize(values)  # numpy columns: text, or pd.NA when missing
    table = np.array([lookup.get(str(u), np.nan) for u in uniques] + [np.nan], dtype="float64")
    return table[codes]  # factorize codes missing values as -1: the trailing NaN
