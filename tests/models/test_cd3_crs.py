"""Tests of the shipped ``cd3_crs`` model (CD3 T-cell engager cytokine release with step-up attenuation).

Reference numbers come from the model page, docs/models/cd3_crs.md: the W-S (Weddell-like surrogate)
reference outputs and qualitative properties, the attenuation under the label half-life (``label_pk``
parameter set), and the Chen 2019 priming peaks (Van De Vyver parameter set).
The same numbers are checked without qsp by ``_raw_check_cd3_crs.py``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import libsbml
import numpy as np
import pytest

import qsp
from qsp import metrics
from qsp.ensemble import sampling

ROOT = Path(__file__).resolve().parents[2]
XML = ROOT / "sbml_models" / "cd3_crs.xml"
ANT = ROOT / "sbml_models" / "cd3_crs.ant"
META = json.loads((ROOT / "sbml_models" / "cd3_crs.json").read_text())

WEEK = 168.0  # h
CYTOKINES = ["IL6", "IFNg", "TNFa", "IL2", "IL10"]
STATES = ["Tn_tum", "Ta_tum", "Td_tum", "Tn_hlt", "Ta_hlt", "Td_hlt"]
VALUE_RTOL = 0.01  # reference tables are rounded to 3 significant figures
TIME_ATOL = 0.1  # h; reference peak times are rounded to 0.1 h

# (regimen, dose index) -> C_pl max (ng/mL), cytokine peaks (pg/mL), IL-6 peak time from infusion start (h),
# responsive fraction tumour / healthy at the start of the dose (None: no healthy pool).
WS_REF = {
    ("default", 1): (3.79, {"IL6": 63.0, "IFNg": 42.0, "TNFa": 10.2, "IL2": 6.2, "IL10": 74.2}, 6.3, 1.000, 1.000),
    ("default", 2): (5.69, {"IL6": 26.2, "IFNg": 17.5, "TNFa": 7.0, "IL2": 3.0, "IL10": 30.9}, 6.6, 0.217, 0.420),
    ("default", 3): (12.90, {"IL6": 29.3, "IFNg": 19.5, "TNFa": 7.3, "IL2": 3.3, "IL10": 34.0}, 6.0, 0.187, 0.362),
    ("default", 4): (12.92, {"IL6": 24.3, "IFNg": 16.2, "TNFa": 6.9, "IL2": 2.9, "IL10": 28.2}, 6.1, 0.132, 0.298),
    ("flat_68", 1): (12.88, {"IL6": 89.5, "IFNg": 59.7, "TNFa": 12.7, "IL2": 8.7, "IL10": 103.3}, 5.6, 1.000, 1.000),
    ("flat_68", 2): (12.92, {"IL6": 24.3, "IFNg": 16.2, "TNFa": 6.9, "IL2": 2.9, "IL10": 28.2}, 6.1, 0.132, 0.298),
    ("flat_68", 3): (12.92, {"IL6": 24.3, "IFNg": 16.2, "TNFa": 6.9, "IL2": 2.9, "IL10": 28.2}, 6.1, 0.132, 0.298),
    ("flat_68", 4): (12.92, {"IL6": 24.3, "IFNg": 16.2, "TNFa": 6.9, "IL2": 2.9, "IL10": 28.2}, 6.1, 0.132, 0.298),
    ("flat_68_no_healthy_target", 1): (12.88, {"IL6": 39.3, "IFNg": 26.2, "TNFa": 8.3, "IL2": 4.3, "IL10": 43.8},
                                       4.9, 1.000, None),
    ("flat_68_no_healthy_target", 2): (12.92, {"IL6": 8.4, "IFNg": 5.6, "TNFa": 5.5, "IL2": 1.5, "IL10": 9.3},
                                       5.0, 0.132, None),
}
# Chen regimen -> [(peak pg/mL, time from that dose h)] per dose.
CHEN_REF = {
    "chen_primed_60_300": [(118.8, 4.47), (25.7, 15.5)],
    "chen_single_300": [(333.0, 3.1)],
    "chen_primed_no_priming": [(118.8, 4.47), (65.8, 14.0)],
}


def close(x, ref, rtol=VALUE_RTOL, atol=0.05):
    """Within ``rtol`` of the reference or within half a unit of its last printed digit."""
    return abs(x - ref) <= max(rtol * abs(ref), atol)


@pytest.fixture(scope="module")
def model():
    return qsp.load_model("cd3_crs")


def _ws_outputs():
    return ["C_pl_ngml", "frac_resp_tum", "frac_resp_hlt"] + [f"[{c}]" for c in CYTOKINES] + STATES


@pytest.fixture(scope="module")
def ws_runs(model):
    """The three W-S regimens of the reference table, on a 0.01 h grid over four weeks."""
    times = np.round(np.arange(0.0, 4 * WEEK + 1e-9, 0.01), 6)
    runs = {}
    for name in ("default", "flat_68", "flat_68_no_healthy_target"):
        doses, params = model.regimen(name)
        runs[name] = model.simulate(times=times, outputs=_ws_outputs(), doses=doses, params=params,
                                    rtol=1e-10, atol=1e-12)
    return runs


def _window(k):
    return (k - 1) * WEEK, (k - 1) * WEEK + WEEK - 0.5


@pytest.mark.parametrize("regimen, k", [(r, k) for r in ("default", "flat_68", "flat_68_no_healthy_target")
                                        for k in range(1, 5)])
def test_ws_reference_outputs(ws_runs, regimen, k):
    res = ws_runs[regimen]
    cmax_ref, peaks_ref, t_il6_ref, f_tum_ref, f_hlt_ref = WS_REF.get((regimen, k)) or WS_REF[(regimen, 2)]
    a, b = _window(k)
    t = res.time
    assert close(metrics.cmax(t, res["C_pl_ngml"], t_start=a, t_end=b), cmax_ref, atol=0.005)
    for c, ref in peaks_ref.items():
        assert close(metrics.cmax(t, res[f"[{c}]"], t_start=a, t_end=b), ref), c
    assert abs(metrics.tmax(t, res["[IL6]"], t_start=a, t_end=b) - a - t_il6_ref) <= TIME_ATOL
    assert abs(metrics.value_at(t, res["frac_resp_tum"], a) - f_tum_ref) <= 0.0015
    if f_hlt_ref is not None:
        assert abs(metrics.value_at(t, res["frac_resp_hlt"], a) - f_hlt_ref) <= 0.0015


def test_ws_qualitative_properties(ws_runs):
    step, flat, nohl = ws_runs["default"], ws_runs["flat_68"], ws_runs["flat_68_no_healthy_target"]
    t = step.time

    def peaks(res, out="[IL6]"):
        return [metrics.cmax(t, res[out], t_start=_window(k)[0], t_end=_window(k)[1]) for k in range(1, 5)]

    # (i) step-up keeps every IL-6 peak below the flat first-dose peak (1.42-fold)
    assert max(peaks(step)) < peaks(flat)[0]
    assert close(peaks(flat)[0] / max(peaks(step)), 1.42)
    # (ii) later peaks are 2.2-3.7-fold below the first (2.15 for step-up dose 3, which the note rounds to 2.2)
    for res in (step, flat):
        p = peaks(res)
        assert all(2.1 <= p[0] / x <= 3.8 for x in p[1:])
    # (iii) peaks fall 4-8 h after the start of each infusion
    for res in (step, flat, nohl):
        for k in range(1, 5):
            a, b = _window(k)
            assert 4.0 <= metrics.tmax(t, res["[IL6]"], t_start=a, t_end=b) - a <= 8.0
    # (iv) no healthy target: first IL-6 peak 2.3-fold lower
    assert close(peaks(flat)[0] / peaks(nohl)[0], 2.28, rtol=0.02)
    # (v) plasma Cmax within or near the label 4.2-13.7 ng/mL
    cm = peaks(step, "C_pl_ngml") + peaks(flat, "C_pl_ngml")
    assert 3.7 <= min(cm) and max(cm) <= 13.7
    # IL-6 peak of the second step-up dose is below the flat first peak by more than 3-fold (attenuation)
    assert peaks(flat)[0] / peaks(step)[1] > 3.0


@pytest.mark.parametrize("regimen", sorted(CHEN_REF))
def test_chen_priming_peaks(model, regimen):
    doses, params = model.regimen(regimen)
    times = np.round(np.arange(0.0, 2 * WEEK + 1e-9, 0.005), 6)
    res = model.simulate(times=times, outputs=["[IL6_chen]", "n_chen"], doses=doses, params=params,
                         rtol=1e-10, atol=1e-12)
    t, y = res.time, res["[IL6_chen]"]
    for k, (ref_peak, ref_t) in enumerate(CHEN_REF[regimen], start=1):
        a, b = _window(k)
        assert close(metrics.cmax(t, y, t_start=a, t_end=b), ref_peak, rtol=0.002)
        assert abs(metrics.tmax(t, y, t_start=a, t_end=b) - a - ref_t) <= TIME_ATOL
    assert res["n_chen"][-1] == len(CHEN_REF[regimen])


def test_chen_derived_checks(model):
    times = np.round(np.arange(0.0, 2 * WEEK + 1e-9, 0.01), 6)

    def run(name):
        doses, params = model.regimen(name)
        return model.simulate(times=times, outputs=["[IL6_chen]"], doses=doses, params=params,
                              rtol=1e-10, atol=1e-12)

    single, primed, unprimed, twice = (run(n) for n in ("chen_single_300", "chen_primed_60_300",
                                                         "chen_primed_no_priming", "chen_300_300"))
    t = single.time

    def peak(res, k):
        return metrics.cmax(t, res["[IL6_chen]"], t_start=_window(k)[0], t_end=_window(k)[1])

    assert close(peak(single, 1) / peak(primed, 1), 2.8)  # step-up lowers the worst peak 2.8-fold
    assert close(peak(single, 1) / peak(primed, 2), 13.0)  # primed 300 ug vs first 300 ug: 13-fold
    assert close(peak(unprimed, 2) / peak(primed, 2), 2.6, rtol=0.02)  # the priming factor alone: 2.6-fold
    # 300 ug twice: IL-6 is 18.4 pg/mL when the second dose is given and only falls afterwards
    y2 = twice["[IL6_chen]"][(t > WEEK) & (t < 2 * WEEK)]
    assert close(metrics.value_at(t, twice["[IL6_chen]"], WEEK + 0.01), 18.4)
    assert np.all(np.diff(y2) <= 1e-9)


def test_untreated_steady_state(model):
    outs = [f"[{c}]" for c in CYTOKINES] + ["[IL6_chen]", "Ta_total", "Tn_tum", "Tn_hlt", "C_pl_ngml"]
    res = model.simulate(4 * WEEK, points=57, outputs=outs)
    base = {"[IL6]": 3.0, "[IFNg]": 2.0, "[TNFa]": 5.0, "[IL2]": 1.0, "[IL10]": 3.0, "[IL6_chen]": 0.0,
            "Ta_total": 0.0, "Tn_tum": 1e9, "Tn_hlt": 2e9, "C_pl_ngml": 0.0}
    for out, value in base.items():
        np.testing.assert_allclose(res[out], value, rtol=1e-9, atol=1e-9, err_msg=out)


def test_non_negative_and_conserved(ws_runs):
    for res in ws_runs.values():
        for s in STATES:
            assert res[s].min() >= -1e-3, s
        for c in CYTOKINES:
            assert res[f"[{c}]"].min() > 0, c
    for name in ("default", "flat_68"):
        res = ws_runs[name]
        np.testing.assert_allclose(res["Tn_tum"] + res["Ta_tum"] + res["Td_tum"], 1e9, rtol=1e-6)
        np.testing.assert_allclose(res["Tn_hlt"] + res["Ta_hlt"] + res["Td_hlt"], 2e9, rtol=1e-6)


def test_dose_conversion(model):
    """20 ug into D_c is 20e-6 / 77000 mol = 0.2597 nmol; a bolus gives C = 20 ug / 5.25 L = 3.81 ng/mL."""
    res = model.simulate(times=[0.0, 1e-6], outputs=["D_c", "C_pl_ngml"],
                         doses=[qsp.Dose("D_c", 20, unit="ug", time=0.0)])
    assert res["D_c"][-1] == pytest.approx(20e-6 / 77000 * 1e9, rel=1e-6)
    assert res["C_pl_ngml"][-1] == pytest.approx(20 / 5.25, rel=1e-6)


def test_metadata(model):
    meta = model.metadata
    sbml = libsbml.readSBMLFromFile(str(XML)).getModel()
    mw = {d["target"]: d["molecular_weight"] for d in meta["drugs"]}
    assert mw == {"D_c": sbml.getParameter("MW").getValue() * 1000,
                  "Dchen_c": sbml.getParameter("MW_chen").getValue() * 1000}
    assert meta["time_unit"] == "hour" and sbml.getTimeUnits() == "hour"
    res = model.simulate(2.0, points=3, outputs=list(meta["outputs"].values()))
    assert res.to_pandas().shape == (3, 1 + len(meta["outputs"]))
    for pid, spec in sampling.check_ranges(meta["parameter_ranges"]).items():
        value = sbml.getParameter(pid).getValue()
        low, high = sampling.bounds(spec)
        assert low < value < high, pid
    assert 5 <= len(meta["parameter_ranges"]) <= 12
    for name in meta["regimens"]:
        model.regimen(name)


# ------------------------------------------------------------------------------------------ label half-life
def _later_over_first(model, params_extra):
    """First IL-6 peak over each later one, for the step-up and the flat 68 ug regimens."""
    times = np.round(np.arange(0.0, 4 * WEEK + 1e-9, 0.01), 6)
    ratios, first = [], {}
    for name in ("default", "flat_68"):
        doses, params = model.regimen(name)
        res = model.simulate(times=times, outputs=["[IL6]"], doses=doses, params={**params, **params_extra},
                             rtol=1e-10, atol=1e-12)
        p = [metrics.cmax(res.time, res["[IL6]"], t_start=_window(k)[0], t_end=_window(k)[1]) for k in range(1, 5)]
        ratios += [p[0] / x for x in p[1:]]
        first[name] = p
    return min(ratios), max(ratios), first


def test_attenuation_depends_on_the_clearance(model):
    """Label CL 4.29 L/day (half-life 20 h): later IL-6 peaks 2.15-3.69-fold below the first. The label_pk set
    (CL 12.5 L/day, half-life 7.0 h): 1.29-2.11-fold; over the label's 6-8 h, 1.23-2.18-fold."""
    v = model.compartments.loc["plasma", "value"]
    pset = model.parameter_set("label_pk")
    assert pset == {"CL": pytest.approx(12.5 / 24)}
    assert round(math.log(2) * v / pset["CL"], 1) == 7.0
    assert round(math.log(2) * v / model.parameters.loc["CL", "value"]) == 20
    lo, hi, _ = _later_over_first(model, {})
    assert (round(lo, 2), round(hi, 2)) == (2.15, 3.69)
    lo, hi, first = _later_over_first(model, pset)
    assert (round(lo, 2), round(hi, 2)) == (1.29, 2.11)
    # the step-up still keeps every IL-6 peak below the flat first peak (58.8 against 86.1 pg/mL, 1.46-fold)
    assert (round(max(first["default"]), 1), round(first["flat_68"][0], 1)) == (58.8, 86.1)
    assert round(first["flat_68"][0] / max(first["default"]), 2) == 1.46
    # why: more of each pool is responsive when the next dose comes (flat 68 ug, second dose)
    doses, params = model.regimen("flat_68")
    for extra, ref in (({}, (0.132, 0.298)), (pset, (0.408, 0.496))):
        r = model.simulate(times=[0.0, WEEK], outputs=["frac_resp_tum", "frac_resp_hlt"], doses=doses,
                           params={**params, **extra}, rtol=1e-10, atol=1e-12)
        assert (round(r["frac_resp_tum"][-1], 3), round(r["frac_resp_hlt"][-1], 3)) == ref
    ends = [_later_over_first(model, {"CL": math.log(2) * v / t})[:2] for t in (8.0, 6.0)]
    assert (round(min(e[0] for e in ends), 2), round(max(e[1] for e in ends), 2)) == (1.23, 2.18)


def test_label_pk_set_from_the_cli(model, tmp_path):
    out = tmp_path / "label.csv"
    cmd = [sys.executable, "-m", "qsp", "simulate", "cd3_crs", "--parameter-set", "label_pk", "--regimen", "flat_68",
           "--t-end", "24", "--points", "49", "--output", "C_pl_ngml", "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    doses, params = model.regimen("flat_68")
    ref = model.simulate(24, points=49, outputs=["C_pl_ngml"], doses=doses,
                         params={**params, **model.parameter_set("label_pk")})
    got = np.loadtxt(out, delimiter=",", skiprows=1)[:, 1]
    np.testing.assert_allclose(got, ref["C_pl_ngml"], rtol=1e-6)
    info = subprocess.run([sys.executable, "-m", "qsp", "info", "cd3_crs"], capture_output=True, text=True, timeout=120)
    assert info.returncode == 0 and "parameter set: label_pk: Tebentafusp label half-life" in info.stdout


def test_ranges_say_what_they_mean(model):
    """CL covers the label CL (0.179 L/h) and the 6-8 h label half-life (0.455-0.607 L/h at V 5.25 L), 3.6-15.6 L/day;
    the Chen ranges are log-normal with the Van De Vyver medians and the DRtox log-SDs."""
    ranges = sampling.check_ranges(model.metadata["parameter_ranges"])
    lo, hi = ranges["CL"]["low"], ranges["CL"]["high"]
    v = model.compartments.loc["plasma", "value"]
    half_life_cl = [round(math.log(2) * v / t, 3) for t in (8.0, 6.0)]
    assert half_life_cl == [0.455, 0.607] and round(4.29 / 24, 3) == 0.179
    assert lo < 4.29 / 24 and half_life_cl[1] < hi and (round(24 * lo, 1), round(24 * hi, 1)) == (3.6, 15.6)
    chen = {k: (ranges[k]["median"], ranges[k]["sd_log"]) for k in ("K_chen", "IC50_chen", "kdeg_chen")}
    assert chen == {"K_chen": (2.83, 0.36), "IC50_chen": (182.0, 0.12), "kdeg_chen": (0.18, 0.13)}
    for k in chen:
        assert ranges[k]["distribution"] == "lognormal" and model.parameters.loc[k, "value"] == chen[k][0]
