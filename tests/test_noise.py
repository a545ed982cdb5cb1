"""Noise models of qsp.fit.noise against closed forms, scipy.stats and the petab library."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import qsp
from qsp.fit import noise

M = np.array([0.7, 1.3, 2.0, 5.5])
Y = np.array([1.0, 1.1, 2.5, 4.0])
S = np.array([0.5, 0.2, 0.3, 1.5])


def test_normal_closed_form():
    expected = 0.5 * np.log(2 * math.pi * S ** 2) + 0.5 * ((M - Y) / S) ** 2
    np.testing.assert_allclose(noise.nllh_terms(M, Y, S), expected, rtol=1e-14)
    np.testing.assert_allclose(noise.nllh_terms(M, Y, S, "normal"), -stats.norm.logpdf(M, Y, S), rtol=1e-12)


def test_lognormal_is_the_density_of_m():
    got = noise.nllh_terms(M, Y, S, "lognormal")
    np.testing.assert_allclose(got, -stats.lognorm.logpdf(M, s=S, scale=Y), rtol=1e-12)
    expected = 0.5 * np.log(2 * math.pi * S ** 2) + 0.5 * ((np.log(M) - np.log(Y)) / S) ** 2 + np.log(M)
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_log10normal_has_the_log10_jacobian():
    got = noise.nllh_terms(M, Y, S, "log10normal")
    expected = -stats.norm.logpdf(np.log10(M), np.log10(Y), S) + np.log(M * math.log(10))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("dist,how", [("laplace", None), ("loglaplace", np.log), ("log10laplace", np.log10)])
def test_laplace_family(dist, how):
    got = noise.nllh_terms(M, Y, S, dist)
    if how is None:
        np.testing.assert_allclose(got, -stats.laplace.logpdf(M, Y, S), rtol=1e-12)
    else:
        jac = np.log(M) if how is np.log else np.log(M * math.log(10))
        np.testing.assert_allclose(got, -stats.laplace.logpdf(how(M), how(Y), S) + jac, rtol=1e-12)


@pytest.mark.parametrize("dist,trafo,shape", [("normal", "lin", "normal"), ("lognormal", "log", "normal"),
                                              ("log10normal", "log10", "normal"), ("laplace", "lin", "laplace"),
                                              ("loglaplace", "log", "laplace"),
                                              ("log10laplace", "log10", "laplace")])
def test_matches_petab(dist, trafo, shape):
    from petab.v1.calculate import calculate_single_llh

    assert noise.distribution_name(trafo, shape) == dist
    ours = noise.nllh_terms(M, Y, S, dist)
    theirs = [-calculate_single_llh(m, y, trafo, shape, s) for m, y, s in zip(M, Y, S)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_m3_censoring_against_scipy():
    lloq = np.array([0.5, 1.0, 3.0, 0.1])
    cens = np.array([True, False, True, True])
    got = noise.nllh_terms(lloq, Y, S, "normal", censored=cens)
    np.testing.assert_allclose(got[cens], -stats.norm.logcdf(lloq[cens], Y[cens], S[cens]), rtol=1e-12)
    np.testing.assert_allclose(got[~cens], noise.nllh_terms(lloq, Y, S)[~cens], rtol=1e-14)
    log = noise.nllh_terms(lloq, Y, S, "lognormal", censored=cens)
    np.testing.assert_allclose(log[cens], -stats.norm.logcdf(np.log(lloq[cens]), np.log(Y[cens]), S[cens]),
                               rtol=1e-12)
    lap = noise.nllh_terms(lloq, Y, S, "laplace", censored=cens)
    np.testing.assert_allclose(lap[cens], -stats.laplace.logcdf(lloq[cens], Y[cens], S[cens]), rtol=1e-12)
    far = noise.nllh_terms(np.array([0.0]), np.array([40.0]), np.array([1.0]), censored=np.array([True]))
    assert np.isfinite(far[0]) and far[0] > 700  # deep in the tail: log Phi, not log(0)


def test_residuals_and_chi2():
    r = noise.residuals(M, Y, S, "log10normal")
    np.testing.assert_allclose(r, (np.log10(M) - np.log10(Y)) / S, rtol=1e-14)
    np.testing.assert_allclose(noise.chi2_terms(M, Y, S), ((M - Y) / S) ** 2, rtol=1e-14)


def test_combined_error():
    y = np.array([0.0, 1.0, -2.0, 10.0])
    np.testing.assert_allclose(noise.error_sigma(y, additive=0.3, proportional=0.1), np.sqrt(0.09 + 0.01 * y ** 2))
    np.testing.assert_allclose(noise.error_sigma(y, additive=0.3), np.full(4, 0.3))
    np.testing.assert_allclose(noise.error_sigma(y, proportional=0.2), 0.2 * np.abs(y))
    with pytest.raises(qsp.InputError):
        noise.error_sigma(y)


def test_impossible_rows_are_inf_and_bad_data_is_refused():
    out = noise.nllh_terms(np.array([1.0, 1.0, 1.0]), np.array([1.0, -1.0, np.nan]), np.array([0.0, 1.0, 1.0]),
                           "lognormal")
    assert np.isinf(out).all()
    with pytest.raises(qsp.InputError, match="> 0"):
        noise.nllh_terms(np.array([-1.0]), np.array([1.0]), np.array([1.0]), "log10normal")
    with pytest.raises(qsp.InputError, match="distribution must be one of"):
        noise.nllh_terms(M, Y, S, "poisson")
    with pytest.raises(qsp.InputError, match="unsupported noise model"):
        noise.distribution_name("logit", "normal")
