"""Sensitivity analysis of any model metric: local coefficients and global indices through SALib.

>>> from qsp import sensitivity
>>> m = qsp.load_model("tritherapy")
>>> res = sensitivity.gsa(m, "sobol", metrics=["value_at:TV_tot:28"], n=512, regimen="tritherapy",
...                       backend="processes")
>>> res.to_pandas(); res.plot()
>>> sensitivity.local(m, ["r", "S_L"], metrics=["value_at:TV_tot:28"], regimen="tritherapy")

Lower level, for a design you simulate yourself::

    problem = sensitivity.Problem.from_model(m)
    unit = sensitivity.sample(problem, "sobol", 1024, seed=1)
    runs = ensemble.run(m, problem.values(unit), metrics=[...])
    indices = sensitivity.analyze(problem, "sobol", unit, runs.table[runs.metrics])
"""

from .convergence import convergence
from .evaluate import FAILURE_POLICIES
from .gsa import analyze, gsa, sample
from .local import local
from .methods import METHODS
from .problem import UNBOUNDED_TAIL, Problem
from .result import INDEX_COLUMNS, ConvergenceResult, SensitivityResult

__all__ = ["gsa", "local", "convergence", "sample", "analyze", "Problem", "SensitivityResult",
           "ConvergenceResult", "METHODS", "FAILURE_POLICIES", "INDEX_COLUMNS", "UNBOUNDED_TAIL"]
