"""Synergy models against analytic truth: Hill, MuSyC limits and recovery, Bliss, Loewe, HSA, ZIP."""

import numpy as np
import pytest

from qsp import QSPError
from qsp.synergy import (
    HSA,
    ZIP,
    Bliss,
    Loewe,
    MuSyC,
    fit_hill,
    hill,
    hill_inverse,
    musyc_closed_form,
    musyc_surface,
)

GRID = np.concatenate([[0.0], np.geomspace(1 / 20, 20, 7)])  # 8 x 8 with zeros, C/20 .. 20 C
D1, D2 = (a.ravel() for a in np.meshgrid(GRID, GRID, indexing="ij"))
TRUE = dict(E0=1.0, E1=0.5, E2=0.3, E3=-0.05, h1=0.8, h2=1.4, C1=1.0, C2=1.0, alpha12=2.0, alpha21=0.5)


def test_hill_inverse_round_trip_and_fit():
    d = np.geomspace(0.01, 100, 25)
    e = hill(d, 0.1, 0.9, 1.7, 2.5)
    assert hill_inverse(e, 0.1, 0.9, 1.7, 2.5) == pytest.approx(d, rel=1e-10)
    assert hill_inverse([0.05, 0.95], 0.1, 0.9, 1.7, 2.5).tolist() == [0.0, np.inf]
    f = fit_hill(np.concatenate([[0], d]), np.concatenate([[0.1], e]))
    assert (f.E0, f.Emax, f.h, f.C) == pytest.approx((0.1, 0.9, 1.7, 2.5), rel=1e-6)


def test_musyc_limits_and_closed_form():
    p = dict(TRUE)
    assert musyc_surface(0, 0, **p) == pytest.approx(p["E0"])
    assert musyc_surface(1e12, 0, **p) == pytest.approx(p["E1"], abs=1e-6)
    assert musyc_surface(0, 1e12, **p) == pytest.approx(p["E2"], abs=1e-6)
    assert musyc_surface(1e12, 1e12, **p) == pytest.approx(p["E3"], abs=1e-6)
    assert musyc_surface(p["C1"], 0, **p) == pytest.approx(0.5 * (p["E0"] + p["E1"]))
    # detailed balance alpha12^h2 == alpha21^h1: the chain equals the closed form
    h1, h2, a21 = 0.8, 1.4, 3.0
    a12 = a21 ** (h1 / h2)
    chain = musyc_surface(D1, D2, 1, 0.4, 0.2, 0.05, h1, h2, 0.7, 2.0, alpha12=a12, alpha21=a21)
    closed = musyc_closed_form(D1, D2, 1, 0.4, 0.2, 0.05, h1, h2, 0.7, 2.0, alpha21=a21)
    assert np.max(np.abs(chain - closed)) < 1e-12


def test_musyc_fit_recovers_alpha_and_beta():
    E = musyc_surface(D1, D2, **TRUE)
    m = MuSyC().fit(D1, D2, E)
    for k, v in TRUE.items():
        assert m.params_[k] == pytest.approx(v, abs=1e-3), k
    assert m.beta_ == pytest.approx(0.5, abs=1e-3)


def test_musyc_fit_with_noise():
    E = musyc_surface(D1, D2, **TRUE) + np.random.default_rng(0).normal(0, 0.01, D1.size)
    m = MuSyC().fit(D1, D2, E)
    for k in ("h1", "h2", "C1", "C2", "alpha12", "alpha21"):
        assert abs(np.log(m.params_[k] / TRUE[k])) <= 0.25, k
    assert m.beta_ == pytest.approx(0.5, abs=0.1)


def test_bliss_excess_is_zero_for_independent_drugs():
    # MuSyC Bliss null: E0 = 1, E3 = E1*E2, alpha = 1  ->  viability factorises; TGI-like effect = 1 - viability
    V = musyc_surface(D1, D2, 1.0, 0.4, 0.25, 0.1, 1.3, 0.7, 0.8, 1.5)
    b = Bliss().fit(D1, D2, 1 - V)
    assert np.max(np.abs(b.synergy_)) < 1e-12
    z = ZIP().fit(D1, D2, 1 - V)
    assert np.nanmax(np.abs(z.synergy_)) < 1e-6


def test_loewe_sham_combination_has_ci_one_and_hsa_calls_it_synergy():
    E = hill(D1 + D2, 0.0, 1.0, 1.3, 1.0)
    lw = Loewe(E0=0.0).fit(D1, D2, E)
    combo = (D1 > 0) & (D2 > 0)
    assert lw.synergy_[combo] == pytest.approx(1.0, abs=1e-6)
    assert lw.reference_[combo] == pytest.approx(E[combo], abs=1e-6)
    assert HSA().fit(D1, D2, E).synergy_[combo].min() > 0  # the known HSA artefact


def test_loewe_null_of_musyc_with_exclusive_action():
    # E0 = 0, E1 = E2 = 1, h = 1, alpha = 0: E depends on d1/C1 + d2/C2 only
    E = musyc_surface(D1, D2, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 2.0, alpha12=0.0, alpha21=0.0)
    lw = Loewe(E0=0.0).fit(D1, D2, E)
    combo = (D1 > 0) & (D2 > 0)
    assert lw.synergy_[combo] == pytest.approx(1.0, abs=1e-6)


def test_synergistic_surface_scores_and_tables():
    E = 1 - musyc_surface(D1, D2, 1.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0, 1.0, alpha12=5.0, alpha21=5.0)
    combo = (D1 > 0) & (D2 > 0)
    assert Bliss().fit(D1, D2, E).synergy_[combo].min() > 0
    assert np.nanmax(Loewe(E0=0.0).fit(D1, D2, E).synergy_[combo]) < 1
    t = Bliss().fit(D1, D2, E).to_pandas()
    assert list(t.columns) == ["d1", "d2", "effect", "reference", "excess"] and len(t) == 64


def test_bad_input_is_refused():
    with pytest.raises(QSPError, match="same length"):
        Bliss().fit([0, 1], [0], [0, 1])
    with pytest.raises(QSPError, match="single-drug point"):
        Bliss().fit([1.0, 2.0], [1.0, 1.0], [0.2, 0.3])
