"""Command-line options shared by the commands that take body weights and covariate models.

``--body-weight`` takes a number of kg or the name of a column of the command's table (per-row body
weight); ``--covariate-model FILE.json`` and repeated ``--covariate 'CL~WT:power(70,0.75)'`` build one
:class:`~qsp.covariates.CovariateModel` (the file's effects first).
"""

from __future__ import annotations

import argparse
import math
import os

import pandas as pd

from ..errors import QSPError
from .model import CovariateModel

__all__ = ["body_weight_arg", "add_covariate_options", "covariate_model", "read_samples"]


def body_weight_arg(text: str) -> float | str:
    """A positive number of kg, or a column name (argparse type)."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        if not text:
            raise argparse.ArgumentTypeError("expected a number of kg or a column name, got ''") from None
        return text
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 (kg), got {text!r}")
    return value


def add_covariate_options(parser, *, table: str = "samples") -> None:
    """Add ``--covariate-model`` and ``--covariate``; ``table`` names where the covariate columns are."""
    parser.add_argument("--covariate-model", metavar="FILE.json",
                        help=f"covariate effects turning covariate columns of the {table} into per-row parameter "
                             "values (a JSON list of 'CL~WT:power(70,0.75)' strings or effect objects)")
    parser.add_argument("--covariate", action="append", metavar="P~COV:KIND(ARGS)",
                        help="a covariate effect, e.g. 'CL~WT:power(70,0.75)', 'V~AGE:linear(40,0.01)', "
                             "'KA~AGE:exponential(40,-0.02)', 'CL~SEX:categorical(F=0.8,M=1)' (repeatable; "
                             "effects on one parameter multiply)")


def covariate_model(args) -> CovariateModel | None:
    """The covariate model of ``--covariate-model`` and ``--covariate`` (None when neither is given)."""
    effects = []
    if getattr(args, "covariate_model", None):
        effects += list(CovariateModel.from_file(args.covariate_model).effects)
    if getattr(args, "covariate", None):
        try:
            effects += list(CovariateModel.parse(args.covariate).effects)
        except QSPError as exc:
            raise type(exc)(f"--covariate: {exc}") from None
    return CovariateModel(effects) if effects else None


def read_samples(path: str | os.PathLike, cov: CovariateModel | None, *, what: str = "samples file") -> pd.DataFrame:
    """A table whose columns must hold numbers, except the categorical covariates of ``cov`` (levels)."""
    from ..tables import check_numeric, read_table

    if cov is None or not cov.categorical_covariates:
        return read_table(path, what=what, numeric=True)
    df = read_table(path, what=what)
    levels = set(cov.categorical_covariates)
    parquet = str(path).endswith((".parquet", ".pq"))
    return check_numeric(df, what=f"{what} {str(path)!r}", columns=[c for c in df.columns if c not in levels],
                         first_line=None if parquet else 2)
