"""Population (NLME) fitting by SAEM: a population model, the fit, diagnostics, virtual populations.

>>> pop = qsp.nlme.PopulationModel.from_toml("theo.toml")                  # doctest: +SKIP
>>> fit = qsp.nlme.saem(model, "theo_sd.csv", pop, seed=1)                  # doctest: +SKIP
>>> fit.estimates; fit.plot_convergence(); qsp.nlme.vpc(fit, n=100).plot()  # doctest: +SKIP

See docs/nlme.md.
"""

from .compare import TrialComparison, compare_trials, population_bounds
from .diagnostics import VPCResult, gof, npde, vpc
from .result import NLMEResult
from .saem import NLMEError, Settings, saem
from .spec import Parameter, PopulationModel, read_spec
from .vpop import virtual_population

__all__ = ["Parameter", "PopulationModel", "read_spec", "saem", "Settings", "NLMEResult", "NLMEError", "vpc",
           "VPCResult", "gof", "npde", "virtual_population", "population_bounds", "compare_trials", "TrialComparison"]
