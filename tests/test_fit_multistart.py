"""Multi-start fits (qsp.fit.multistart): analytic objectives with known optima, failed starts as rows,
the same result on every backend, and a model recovered from its own noisy simulated data."""

from __future__ import annotations

import json
import math
import os
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.ensemble import ProcessBackend
from qsp.errors import InputError, QSPWarning
from qsp.fit.multistart import FitError, fit
from qsp.fit.objective import Objective, ParameterSpace

matplotlib.use("Agg")

METHODS = ("lbfgsb", "least_squares", "nelder-mead", "differential_evolution")


class Quadratic(Objective):
    """0.5 * sum(((x - c) / w)^2): minimum at c, except where c lies beyond a bound (then at that bound)."""

    def __init__(self, centre=(0.3, 5.0), width=(0.5, 2.0)):
        self.c, self.w = np.asarray(centre, float), np.asarray(width, float)
        self.space = ParameterSpace(("a", "b"), ("lin", "lin"), np.array([-1.0, -2.0]), np.array([1.0, 2.0]))

    def residuals(self, x):
        return (np.asarray(x) - self.c) / self.w

    def nllh(self, x):
        r = self.residuals(x)
        return 0.5 * float(r @ r)


class Rosenbrock(Objective):
    """The banana valley, minimum 0 at (1, 1)."""

    space = ParameterSpace(("u", "v"), ("lin", "lin"), np.array([-2.0, -1.0]), np.array([2.0, 3.0]))

    def nllh(self, x):
        return float(100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2)

    def residuals(self, x):
        return math.sqrt(2) * np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


class PartlyBroken(Quadratic):
    """Raises where a > 0.5 and is NaN where a < -0.5: starts there fail, the others find (0.3, 0.4)."""

    def __init__(self):
        super().__init__(centre=(0.3, 0.4))

    def nllh(self, x):
        if x[0] > 0.5:
            raise ValueError("no steady state here")
        if x[0] < -0.5:
            return math.nan
        return super().nllh(x)


class Interrupting(Quadratic):
    def nllh(self, x):
        if x[0] > 0.0:
            raise KeyboardInterrupt
        return super().nllh(x)


class KillsWorker(Quadratic):
    """Ends its process where a > 0.8 (as a crash inside a simulator would)."""

    def nllh(self, x):
        if x[0] > 0.8:
            os._exit(3)
        return super().nllh(x)


@pytest.mark.parametrize("method", METHODS)
def test_quadratic_optimum_and_bound_flag(method):
    res = fit(Quadratic(), starts=6, seed=1, method=method)
    # b's unconstrained optimum (5) lies beyond its upper bound (2): the estimate sits at that bound
    assert res.best_x == pytest.approx([0.3, 2.0], abs=1e-4)
    assert res.best_llh == pytest.approx(-0.5 * (3 / 2) ** 2, abs=1e-6)
    est = res.estimates.set_index("parameter")
    assert est.loc["b", "at_bound"] and not est.loc["a", "at_bound"]
    assert list(res.estimates.columns) == ["parameter", "scale", "estimate", "value", "lower", "upper", "at_bound",
                                           "nominal"]
    assert res.n_failed == 0 and res.n_starts == (1 if method == "differential_evolution" else 6)
    assert res.n_converged() == res.n_starts


@pytest.mark.parametrize("method", ["lbfgsb", "least_squares", "nelder-mead", "differential_evolution"])
def test_rosenbrock_valley(method):
    res = fit(Rosenbrock(), starts=8, seed=3, method=method)
    assert res.best_x == pytest.approx([1.0, 1.0], abs=2e-3)
    assert res.best_llh > -1e-5
    table = res.starts
    assert list(table.columns) == ["start", "status", "message", "nllh_start", "nllh", "u", "v", "n_redrawn",
                                   "n_evals", "n_grad", "optimizer_message", "seconds"]
    assert table["nllh"].is_monotonic_increasing
    assert (table["n_evals"] > 0).all() and (table["nllh"] <= table["nllh_start"]).all()
    if method == "lbfgsb":
        assert (table["n_grad"] > 0).all() and res.n_converged() >= 6


def test_failed_starts_are_rows():
    obj = PartlyBroken()
    points = obj.space.sample(12, 5)
    raising, nan = points[:, 0] > 0.5, points[:, 0] < -0.5
    assert raising.any() and nan.any() and (~raising & ~nan).any()
    with pytest.warns(QSPWarning, match=f"{int(raising.sum() + nan.sum())} of 12 starts failed"):
        res = fit(obj, starts=12, seed=5, redraws=0)
    failed = res.starts.loc[res.starts["status"] == "failed"].set_index("start").sort_index()
    assert list(failed.index) == list(np.flatnonzero(raising | nan))
    assert failed.loc[np.flatnonzero(raising), "message"].str.startswith("ValueError: no steady state here").all()
    assert failed.loc[np.flatnonzero(nan), "message"].str.contains("not finite at the start point").all()
    # a failed row keeps its start point and no objective value; it sorts last
    assert failed[["a", "b"]].to_numpy() == pytest.approx(points[raising | nan])
    assert failed["nllh"].isna().all() and res.starts["status"].iloc[-len(failed):].eq("failed").all()
    assert res.best_x == pytest.approx([0.3, 0.4], abs=1e-4) and res.n_failed == len(failed)


def test_starts_where_the_objective_fails_are_drawn_again():
    """A drawn start where the objective raises or is NaN is replaced by a uniform draw (seeded by the fit's
    seed and the start's index) until one is finite; the starts that were finite keep their points; given
    x0 rows are never redrawn."""
    obj = PartlyBroken()
    points = obj.space.sample(12, 5)
    bad = (points[:, 0] > 0.5) | (points[:, 0] < -0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no start fails
        res = fit(obj, starts=12, seed=5, method="nelder-mead")
    table = res.starts.set_index("start").sort_index()
    assert res.n_failed == 0 and (table["n_redrawn"] > 0).tolist() == bad.tolist()
    assert np.isfinite(table["nllh_start"]).all()
    # a start that was finite at its draw is the same run as without redraws
    with pytest.warns(QSPWarning, match=f"{int(bad.sum())} of 12 starts failed"):
        plain = fit(obj, starts=12, seed=5, method="nelder-mead", redraws=0).starts.set_index("start").sort_index()
    assert table.loc[~bad, "nllh_start"].tolist() == plain.loc[~bad, "nllh_start"].tolist()
    again = fit(obj, starts=12, seed=5, method="nelder-mead").starts.set_index("start").sort_index()
    pd.testing.assert_frame_equal(table.drop(columns="seconds"), again.drop(columns="seconds"))
    with pytest.raises(FitError, match="all 1 starts failed"):
        fit(obj, starts=0, x0=[[0.9, 0.0]])
    with pytest.raises(InputError, match="redraws must be a whole number >= 0"):
        fit(obj, starts=2, redraws=-1)


def test_every_start_failed_raises_with_the_rows():
    class Broken(Quadratic):
        def nllh(self, x):
            raise qsp.SimulationError("CVODE failed")

    with pytest.raises(FitError, match="all 3 starts failed; the first: SimulationError: CVODE failed") as info:
        fit(Broken(), starts=3)
    assert info.value.result.n_failed == 3 and info.value.result.best_x is None


def test_serial_and_processes_agree():
    serial = fit(Rosenbrock(), starts=6, seed=11, method="lbfgsb")
    parallel = fit(Rosenbrock(), starts=6, seed=11, method="lbfgsb", backend=ProcessBackend(2), chunk_size=2)
    cols = [c for c in serial.starts.columns if c != "seconds"]
    pd.testing.assert_frame_equal(serial.starts[cols], parallel.starts[cols])
    again = fit(Rosenbrock(), starts=6, seed=11, method="lbfgsb")
    pd.testing.assert_frame_equal(serial.starts[cols], again.starts[cols])
    other = fit(Rosenbrock(), starts=6, seed=12, method="lbfgsb")
    assert not np.allclose(other.starts.sort_values("start")["nllh_start"],
                           serial.starts.sort_values("start")["nllh_start"])


def test_a_start_that_kills_its_worker_fails_alone():
    obj = KillsWorker(centre=(-0.5, 0.4))  # the other starts move away from the deadly region
    points = obj.space.sample(4, 1)
    deadly = np.flatnonzero(points[:, 0] > 0.8)
    assert 0 < len(deadly) < 4
    with pytest.warns(QSPWarning, match="1 of 4 starts failed"):
        res = fit(obj, starts=4, seed=1, backend=ProcessBackend(2), chunk_size=2)
    failed = res.starts.loc[res.starts["status"] == "failed"]
    assert sorted(failed["start"]) == list(deadly)
    assert failed["message"].str.startswith("WorkerDied").all()
    assert res.best_x == pytest.approx([-0.5, 0.4], abs=1e-4)


def test_interrupt_stops_the_fit():
    with pytest.raises(KeyboardInterrupt):
        fit(Interrupting(), starts=6, seed=0)
    from qsp.fit import multistart

    assert multistart._OBJECTIVES == {}


def test_x0_rows_come_first_and_are_checked():
    res = fit(Quadratic(), starts=2, x0=[[0.3, 1.0], [0.0, 0.0]])
    assert res.n_starts == 4
    first = res.starts.set_index("start").loc[0]
    assert first["nllh_start"] == pytest.approx(0.5 * ((1.0 - 5.0) / 2) ** 2)
    assert fit(Quadratic(), starts=0, x0="nominal").n_starts == 1
    with pytest.raises(InputError, match=r"x0 row 0: b = 3 is outside its bounds \[-2, 2\]"):
        fit(Quadratic(), x0=[0.0, 3.0])
    with pytest.raises(InputError, match="x0 must have 2 values per start"):
        fit(Quadratic(), x0=[0.0])


def test_options_are_checked():
    class NoResiduals(Objective):
        space = Rosenbrock.space

        def nllh(self, x):
            return float(np.sum(np.asarray(x) ** 2))

    with pytest.raises(InputError, match="method 'least_squares' needs an objective with residuals; this "
                                         "NoResiduals gives none"):
        fit(NoResiduals(), method="least_squares")
    with pytest.raises(InputError, match="method must be one of"):
        fit(Quadratic(), method="bfgs")
    with pytest.raises(InputError, match="starts must be a whole number >= 1"):
        fit(Quadratic(), starts=0)
    with pytest.raises(InputError, match="fit needs an Objective"):
        fit(lambda x: 0.0)


def test_max_evals_limits_each_start():
    res = fit(Rosenbrock(), starts=3, method="nelder-mead", max_evals=15)
    assert (res.starts["n_evals"] <= 17).all()  # the start point and the limit
    assert (res.starts["status"] == "stopped").all()


def test_exports_and_plots(tmp_path):
    res = fit(Quadratic(), starts=5, seed=2)
    res.to_csv(tmp_path / "fit")
    starts = pd.read_csv(tmp_path / "fit" / "starts.csv")
    assert len(starts) == 5 and list(starts["start"]) == list(res.starts["start"])
    est = pd.read_csv(tmp_path / "fit" / "estimates.csv")
    assert est["estimate"].to_numpy() == pytest.approx(res.best_x)
    data = json.loads(res.to_json(tmp_path / "fit.json"))
    assert data["best_llh"] == pytest.approx(res.best_llh) and len(data["starts"]) == 5
    s = res.summary()
    assert {"best_llh", "n_starts", "n_failed", "wall_s", "n_at_best", "method"} <= set(s)
    assert s["n_at_best"] == 5 and s["wall_s"] > 0
    assert res.plot_waterfall().get_yscale() == "log"
    assert len(res.plot_parameters().get_yticklabels()) == 2
    assert "<table" in res._repr_html_() and "FitResult" in repr(res)
    with pytest.raises(InputError, match="has no simulate"):
        res.plot_fit()


# ---------------------------------------------------------------------------- a model fitted to its data

DECAY = """
model decay
  compartment cell = 1
  species A in cell = 100
  k = 0.3
  V = 5
  J: A -> ; k * A
  C := A / V
end
"""
TIMES = np.array([0.5, 1, 2, 3, 4, 6, 8, 10, 12])
TRUE = {"k": 0.3, "V": 5.0}
SIGMA = 0.2

_MODELS: dict = {}


class DecayObjective(Objective):
    """Gaussian negative log-likelihood of C = A / V against noisy data; k and V on log10 scale."""

    def __init__(self, data: np.ndarray):
        self.data = np.asarray(data, float)
        self.space = ParameterSpace(("k", "V"), ("log10", "log10"), np.log10([0.01, 0.5]), np.log10([10.0, 50.0]))

    def _model(self):  # compiled once per process: a Model is not picklable, the text is
        if "decay" not in _MODELS:
            _MODELS["decay"] = qsp.Model.from_antimony(DECAY)
        return _MODELS["decay"]

    def predict(self, x) -> np.ndarray:
        k, v = 10.0 ** np.asarray(x, float)
        res = self._model().simulate(TIMES[-1], times=[0.0, *TIMES], outputs=["C"], params={"k": k, "V": v})
        return res.to_pandas()["C"].to_numpy()[1:]

    def residuals(self, x):
        return (self.data - self.predict(x)) / SIGMA

    def nllh(self, x):
        r = self.residuals(x)
        return 0.5 * float(r @ r) + len(r) * math.log(math.sqrt(2 * math.pi) * SIGMA)

    def simulate(self, x):
        return pd.DataFrame({"observable": "C", "time": TIMES, "measurement": self.data,
                             "simulation": self.predict(x)})


@pytest.fixture(scope="module")
def decay_data():
    clean = 100 / TRUE["V"] * np.exp(-TRUE["k"] * TIMES)
    return clean + np.random.default_rng(7).normal(0.0, SIGMA, len(TIMES))


def test_ode_objective_recovers_k(decay_data):
    obj = DecayObjective(decay_data)
    res = fit(obj, starts=6, seed=0)
    k, v = res.estimates.set_index("parameter")["value"]
    assert k == pytest.approx(TRUE["k"], rel=0.03) and v == pytest.approx(TRUE["V"], rel=0.03)
    assert res.n_converged() >= 5
    # the same optimum by least squares, on two worker processes (each compiles the model itself)
    ls = fit(obj, starts=4, seed=0, method="least_squares", backend=ProcessBackend(2))
    assert ls.best_x == pytest.approx(res.best_x, abs=1e-4) and ls.best_llh == pytest.approx(res.best_llh, abs=1e-6)
    table = res.predictions()
    assert np.abs(table["measurement"] - table["simulation"]).max() < 4 * SIGMA
    assert len(res.plot_fit().axes) == 1 and len(res.plot_residuals().axes) == 2


def test_no_warnings_on_a_clean_fit(decay_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", QSPWarning)
        fit(DecayObjective(decay_data), starts=2, seed=1, method="nelder-mead")


def test_dask_backend_agrees(decay_data):
    pytest.importorskip("distributed")
    from qsp.ensemble import DaskBackend

    backend = DaskBackend(n_workers=2)
    try:
        on_dask = fit(Rosenbrock(), starts=4, seed=11, backend=backend)
        decay = fit(DecayObjective(decay_data), starts=2, seed=0, backend=backend)
    finally:
        backend.close()
    serial = fit(Rosenbrock(), starts=4, seed=11)
    cols = [c for c in serial.starts.columns if c != "seconds"]
    pd.testing.assert_frame_equal(serial.starts[cols], on_dask.starts[cols])
    assert decay.estimates["value"].to_numpy() == pytest.approx([TRUE["k"], TRUE["V"]], rel=0.03)


def test_progress_bar(capsys):
    fit(Quadratic(), starts=3, progress=True)
    assert "fit" in capsys.readouterr().err


def test_a_parameter_named_like_a_column():
    class Named(Quadratic):
        def __init__(self):
            super().__init__()
            self.space = ParameterSpace(("nllh", "b"), ("lin", "lin"), np.array([-1.0, -2.0]), np.array([1.0, 2.0]))

    res = fit(Named(), starts=2)
    assert "x:nllh" in res.starts.columns and res.best_x == pytest.approx([0.3, 2.0], abs=1e-4)
    assert list(res.estimates["parameter"]) == ["nllh", "b"]
