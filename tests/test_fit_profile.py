"""Profile likelihoods and Fisher intervals against closed forms, identifiability flags, and the coverage of
the 95 % profile interval over replicate datasets of an ODE model."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from qsp.errors import InputError, QSPWarning, UnknownIdError
from qsp.fit.fisher import fisher_intervals
from qsp.fit.profile import chi2_threshold, profile

from .uncertainty_objectives import TIMES, DecayObjective, Flat, Gaussian, decay_data, fit

Z = 1.959963984540054
COV = np.array([[1.0, 0.6], [0.6, 2.0]])
MU = np.array([1.0, 2.0])


@pytest.fixture
def gaussian():
    return Gaussian(MU, COV, [-10, -10], [10, 10])


def test_threshold_is_chi2():
    assert chi2_threshold(0.95) == pytest.approx(3.841458820694124)
    assert chi2_threshold(0.68) == pytest.approx(0.994457883209753 ** 2)


def test_profile_intervals_are_the_gaussian_closed_form(gaussian):
    res = profile(gaussian, MU)
    iv = res.intervals.set_index("parameter")
    sd = np.sqrt(np.diag(COV))
    for i, pid in enumerate(("p0", "p1")):
        assert iv.loc[pid, "lower"] == pytest.approx(MU[i] - Z * sd[i], abs=1e-4)
        assert iv.loc[pid, "upper"] == pytest.approx(MU[i] + Z * sd[i], abs=1e-4)
        assert iv.loc[pid, "identifiability"] == "identifiable"
        assert iv.loc[pid, "lower_end"] == iv.loc[pid, "upper_end"] == "threshold"
    assert not res.improved and not iv["better_optimum"].any()
    # the re-optimised partner follows the conditional mean along the profile of p0
    t = res.table[res.table["parameter"] == "p0"]
    expected = MU[1] + COV[0, 1] / COV[0, 0] * (t["p0"] - MU[0])
    assert np.allclose(t["p1"], expected, atol=1e-4)
    assert np.allclose(t["ratio"], (t["value"] - MU[0]) ** 2 / COV[0, 0], atol=1e-6)
    assert (t.groupby("side")["ratio"].max().drop("optimum") > res.threshold).all()


def test_other_confidence_levels(gaussian):
    res = profile(gaussian, MU, parameters="p0", confidence=0.68)
    z = 0.994457883209753
    row = res.intervals.iloc[0]
    assert (row["lower"], row["upper"]) == pytest.approx((MU[0] - z, MU[0] + z), abs=1e-4)
    assert list(res.intervals["parameter"]) == ["p0"]


def test_fisher_intervals_are_the_gaussian_closed_form(gaussian):
    df = fisher_intervals(gaussian, MU).set_index("parameter")
    sd = np.sqrt(np.diag(COV))
    assert np.allclose(df["se"], sd, rtol=1e-5)
    assert np.allclose(df["lower"], MU - Z * sd, atol=1e-4)
    assert np.allclose(df["upper"], MU + Z * sd, atol=1e-4)
    assert df.loc["p0", "corr:p1"] == pytest.approx(0.6 / math.sqrt(2.0), abs=1e-5)
    assert (df["flag"] == "").all()
    assert df.attrs["method"] == "finite-differences"
    assert np.allclose(sorted(set(df["eigenvalue"])), np.linalg.eigvalsh(np.linalg.inv(COV))[:1], rtol=1e-4)


def test_log10_scale_gives_linear_columns():
    g = Gaussian([0.0], [[0.01]], [-3], [3], scales=["log10"], ids=["k"])
    iv = profile(g, [0.0]).intervals.iloc[0]
    assert iv["lower_linear"] == pytest.approx(10 ** (-Z * 0.1), rel=1e-4)
    assert iv["upper_linear"] == pytest.approx(10 ** (Z * 0.1), rel=1e-4)
    assert iv["estimate_linear"] == 1.0
    fi = fisher_intervals(g, [0.0]).iloc[0]
    assert fi["upper_linear"] == pytest.approx(10 ** (Z * 0.1), rel=1e-4)


def test_flat_direction_is_structurally_non_identifiable():
    res = profile(Flat(), [1.0, 0.0])
    iv = res.intervals.set_index("parameter")
    assert iv.loc["p1", "identifiability"] == "structurally non-identifiable"
    assert iv.loc["p1", "lower"] == -math.inf and iv.loc["p1", "upper"] == math.inf
    assert iv.loc["p1", "lower_end"] == iv.loc["p1", "upper_end"] == "bound"
    assert iv.loc["p0", "identifiability"] == "identifiable"
    assert (iv.loc["p0", "lower"], iv.loc["p0", "upper"]) == pytest.approx((1 - Z, 1 + Z), abs=1e-4)
    fi = fisher_intervals(Flat(), [1.0, 0.0]).set_index("parameter")
    assert fi.loc["p1", "flag"].startswith("singular direction (eigenvalue")
    assert fi.loc["p1", "se"] == math.inf and fi.loc["p0", "flag"] == ""
    assert fi.loc["p0", "se"] == pytest.approx(1.0, rel=1e-5)


def test_bound_below_the_threshold_is_practically_non_identifiable():
    g = Gaussian([0.0, 0.0], np.eye(2), [-1.0, -10.0], [10.0, 10.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = profile(g, [0.0, 0.0])
    row = res.intervals.set_index("parameter").loc["p0"]
    assert row["identifiability"] == "practically non-identifiable"
    assert row["lower"] == -math.inf and row["lower_end"] == "bound"
    assert row["upper"] == pytest.approx(Z, abs=1e-4)
    assert "lower side reaches its bound at ratio 1" in row["note"]
    at_bound = res.table[(res.table["parameter"] == "p0") & (res.table["side"] == "lower")]
    assert at_bound["value"].min() == -1.0


def test_a_better_optimum_is_reported(gaussian):
    x = MU + np.array([0.0, 1.0])  # p1 off its optimum: the profile of p0 re-optimises p1 and finds better
    with pytest.warns(QSPWarning, match="x_best is not the optimum"):
        res = profile(gaussian, x, parameters="p0")
    assert res.improved
    assert res.nllh_best == pytest.approx(0.5 / (COV[1, 1] - COV[0, 1] ** 2 / COV[0, 0]))
    assert res.nllh_min < 0.05  # the profile of p0 moved p1 to its conditional optimum
    assert np.allclose(res.x_min, MU, atol=0.3)
    assert bool(res.intervals["better_optimum"].iloc[0])
    assert "lower nllh than x_best" in res.intervals["note"].iloc[0]
    assert res.table["ratio"].min() == pytest.approx(0.0, abs=1e-9)  # measured from the better point


def test_processes_backend_matches_serial(gaussian):
    serial = profile(gaussian, MU)
    parallel = profile(gaussian, MU, backend="processes")
    pd.testing.assert_frame_equal(serial.intervals, parallel.intervals)
    pd.testing.assert_frame_equal(serial.table, parallel.table)


def test_points_within_threshold_exports_and_plot(gaussian, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    res = profile(gaussian, MU)
    pts = res.points()
    assert pts.shape[1] == 2 and len(pts) > 10
    assert all(gaussian.nllh(p) * 2 <= res.threshold + 1e-9 for p in pts)
    assert len(res.points(within=False)) > len(pts)
    res.to_csv(tmp_path / "p.csv")
    res.to_csv(tmp_path / "i.csv", what="intervals")
    back = pd.read_csv(tmp_path / "p.csv")
    assert list(back.columns[:8]) == ["parameter", "side", "step", "value", "value_linear", "nllh", "ratio",
                                      "optimizer_ok"]
    assert list(back.columns[8:]) == ["p0", "p1"]
    assert pd.read_csv(tmp_path / "i.csv")["identifiability"].tolist() == ["identifiable"] * 2
    fig = res.plot()
    assert len([a for a in fig.axes if a.get_visible()]) == 2
    assert "ProfileResult(2 parameters" in repr(res)
    assert "<b>ProfileResult</b>" in res._repr_html_()


def test_bad_input_is_one_error(gaussian):
    with pytest.raises(InputError, match="not within its bounds"):
        profile(gaussian, [20.0, 0.0])
    with pytest.raises(InputError, match="one value per estimated parameter"):
        profile(gaussian, [1.0])
    with pytest.raises(UnknownIdError, match="'p3' is not an estimated parameter"):
        profile(gaussian, MU, parameters=["p3"])
    with pytest.raises(InputError, match="confidence"):
        profile(gaussian, MU, confidence=95)
    with pytest.raises(InputError, match="min_step <= step"):
        profile(gaussian, MU, step=0.5, max_step=0.1)
    with pytest.raises(InputError, match="qsp.fit.Objective"):
        profile(lambda x: 0.0, MU)
    with pytest.raises(InputError, match="confidence"):
        fisher_intervals(gaussian, MU, confidence=1.5)


def test_ode_profile_interval_coverage():
    """Synthetic recovery: over 50 replicate datasets the 95 % profile interval of k holds the true k."""
    truth = math.log10(0.3)
    n, hits, hits_fisher, widths = 50, 0, 0, []
    for seed in range(n):
        obj = DecayObjective(decay_data(seed))
        x_hat = fit(obj, np.log10([0.2, 15.0]))
        iv = profile(obj, x_hat, parameters="k").intervals.iloc[0]
        assert iv["identifiability"] == "identifiable"
        hits += iv["lower"] <= truth <= iv["upper"]
        widths.append(iv["upper"] - iv["lower"])
        fi = fisher_intervals(obj, x_hat).iloc[0]
        assert fi["flag"] == ""
        hits_fisher += fi["lower"] <= truth <= fi["upper"]
    coverage = hits / n
    print(f"profile coverage of k: {coverage:.2f} ({hits}/{n}); Fisher: {hits_fisher / n:.2f}; "
          f"median width {np.median(widths):.3f} (log10)")
    assert coverage >= 0.86  # 95 % nominal; binomial(50, 0.95) falls below 0.86 with probability < 1 %
    assert hits_fisher / n >= 0.84
    assert len(TIMES) == 7
