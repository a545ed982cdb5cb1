"""Covariate models: how body weight, age, sex... scale model parameters, declared once, applied everywhere.

>>> import qsp
>>> cov = qsp.CovariateModel([qsp.covariates.power("CL", "WT", reference=70, exponent=0.75),
...                           qsp.covariates.categorical("CL", "SEX", {"F": 0.8, "M": 1.0})])
>>> cov.apply(pd.DataFrame({"WT": [70.0], "SEX": ["F"]}), typical={"CL": 4.0})   # CL = 3.2
>>> ensemble.run(model, patients, covariate_model=cov, body_weight="WT", ...)    # per row

See docs/covariates.md for the forms, their formulas and the assumptions.
"""

from .effects import KINDS, Effect, categorical, exponential, linear, parse_effect, power
from .model import CovariateModel

__all__ = ["CovariateModel", "Effect", "KINDS", "power", "linear", "exponential", "categorical", "parse_effect"]
