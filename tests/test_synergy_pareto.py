"""Exact Pareto filter against brute force and pymoo; NSGA-II on ZDT1."""

import numpy as np
import pytest
from pymoo.indicators.igd import IGD
from pymoo.problems import get_problem
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from qsp.synergy import near_front, non_dominated, nsga2
from qsp.synergy.pareto import non_dominated_brute_force


@pytest.mark.parametrize("m", [2, 3])
def test_exact_filter_matches_brute_force_and_pymoo(m):
    rng = np.random.default_rng(m)
    for trial in range(30):
        n = int(rng.integers(1, 80))
        F = rng.integers(0, 6, size=(n, m)).astype(float) if trial % 2 else rng.random((n, m))
        if trial % 3 == 0:
            F = np.vstack([F, F[: n // 2]])  # exact duplicates
        mask = non_dominated(F)
        assert (mask == non_dominated_brute_force(F)).all()
        front = NonDominatedSorting().do(F, only_non_dominated_front=True)
        assert set(np.flatnonzero(mask)) == set(front.tolist())


def test_ties_duplicates_and_nan():
    F = np.array([[1, 2], [1, 2], [1, 3], [2, 1], [0.5, np.nan], [3, 1], [2, 1]], float)
    assert non_dominated(F).tolist() == [True, True, False, True, False, False, True]


def test_near_front_flags_points_close_to_the_front():
    F = np.array([[0, 1], [1, 0], [0.02, 1.01], [1.1, 1.1], [2, 2]], float)
    on = non_dominated(F)
    near = near_front(F, on, tol=0.02)
    assert on.tolist() == [True, True, False, False, False]
    assert near.tolist() == [False, False, True, False, False]


def test_nsga2_reaches_the_zdt1_front():
    problem = get_problem("zdt1")
    res = nsga2(problem, pop_size=100, n_gen=250, seed=1)
    igd = IGD(problem.pareto_front())(res.F)
    assert igd < 0.01
    assert (res.table["f2"].to_numpy() >= 1 - np.sqrt(res.table["f1"].to_numpy()) - 1e-9).all()
