"""Virtual populations: plausible patients, selection or weighting to clinical data, simulated trials.

>>> from qsp import vpop
>>> problem = vpop.PlausibleProblem(model, parameters, outputs, regimen="untreated", t_end=21)
>>> pps = vpop.generate(problem, 500, method="mh")
>>> vps = vpop.select(pps, vpop.Target.from_summary({"TV21": {"distribution": "lognormal",
...                                                          "median": 900, "sd_log": 0.4}}))
>>> trial = vpop.simulate_trial(model, vps, {"A": "rt_anti_pdl1_concurrent"}, tumour="TV_tot", baseline=7)
"""

from .bounds import OutputBounds, ParameterBounds, flat_bottom
from .plausible import generate
from .problem import PlausibleProblem
from .rates import clopper_pearson, fisher_exact, newcombe_difference, wilson_interval
from .responses import best_percent_change, classify_recist, grade_crs
from .result import PlausiblePatients, PrevalenceWeights, VirtualPopulation
from .selection import select
from .target import Target
from .trial import compare_arms, response_rates, simulate_trial
from .trial_result import TrialResult
from .weighting import effective_sample_size, weight

__all__ = ["ParameterBounds", "OutputBounds", "flat_bottom", "PlausibleProblem", "generate", "PlausiblePatients",
           "Target", "select", "VirtualPopulation", "weight", "PrevalenceWeights", "effective_sample_size",
           "best_percent_change", "classify_recist", "grade_crs", "wilson_interval", "clopper_pearson",
           "newcombe_difference", "fisher_exact", "simulate_trial", "response_rates", "compare_arms", "TrialResult"]
