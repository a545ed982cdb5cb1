"""Checks of the shipped ``tritherapy`` model (RT + anti-PD-L1 + DDRi; Kosinsky 2018 base).

Reference numbers: docs/models/tritherapy.md ("Checks") and the model note
(shared/references/model-tritherapy.md, section 4.3): a SciPy reconstruction of Kosinsky 2018, not numbers
from a paper. Every expected value below is written out, not computed by the code under test. The eradication
rule and the virtual population are checked in test_tritherapy_cure_rule.py, the DDRi PK in test_tritherapy_pk.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import qsp
from qsp.ensemble.sampling import as_bounds

ROOT = Path(__file__).resolve().parents[2]
ALPHA = 0.146
BETA = ALPHA / 10.0


@pytest.fixture(scope="module")
def model():
    return qsp.load_model("tritherapy")


def tv_tot(model, regimen, times, rtol=1e-6, **params):
    doses, p = model.regimen(regimen)
    return model.simulate(max(times), times=times, doses=doses, params={**p, **params}, outputs=["TV_tot"],
                          rtol=rtol)["TV_tot"]


def lq(dose_gy, factor=1.0):
    return math.exp(-(ALPHA * factor * dose_gy + BETA * factor * dose_gy**2))


# ----------------------------------------------------------------------------------------- metadata
def test_metadata_regimens_and_outputs_resolve(model):
    meta = model.metadata
    assert set(meta["regimens"]) >= {"untreated", "rt_5x2gy", "anti_pdl1", "rt_anti_pdl1_concurrent",
                                     "rt_anti_pdl1_sequential", "tritherapy"}
    for name in meta["regimens"]:
        model.regimen(name)
    values = model.parameters["value"]
    for pid, box in as_bounds(meta["parameter_ranges"]).items():  # (log)uniform: its bounds; lognormal: +/-3 sd
        assert box["low"] <= values[pid] <= box["high"], pid
    # the page's virtual population, S_L = 8.89 exp(0.696 z), is the metadata's S_L distribution
    s_l = meta["parameter_ranges"]["S_L"]
    assert (s_l["distribution"], s_l["median"], s_l["sd_log"]) == ("lognormal", values["S_L"], 0.696)
    res = model.simulate(10, points=3, outputs=list(meta["outputs"].values()))
    assert np.isfinite(res.values).all()
    assert model.time_unit == "day"


def test_dose_conversion_mg_per_kg_to_nmol(model):
    # 10 mg/kg x 0.02 kg = 0.2 mg of a 150 kDa antibody = 1.3333 nmol; 75 mg/kg x 0.02 kg of 412.5 g/mol = 3636.4 nmol
    res = model.simulate(1, times=[0, 1], params={"ka": 0.0, "ka_DDRi": 0.0}, outputs=["A_ip", "DDRi_gut"],
                         doses=[qsp.Dose("A_ip", 10, unit="mg/kg"), qsp.Dose("DDRi_gut", 75, unit="mg/kg")])
    assert res["A_ip"][0] == pytest.approx(0.2e-3 / 150000 * 1e9, rel=1e-12)
    assert res["DDRi_gut"][0] == pytest.approx(1.5e-3 / 412.5 * 1e9, rel=1e-12)


# ----------------------------------------------------------------------------------------- Kosinsky base
@pytest.mark.parametrize("c_mab, expected", [
    (0.0, [149.2, 488.4, 1146.2, 1608.9, 1758.5]),
    (30.0, [146.6, 424.7, 992.7, 1503.9, 1715.8]),
    (100.0, [145.2, 388.7, 892.9, 1425.4, 1688.8]),
])
def test_curated_biomodels_run_with_constant_antibody(model, c_mab, expected):
    """Note 4.3, first table: BIOMD0000000863 as curated (no RT, mAb held constant): TV at days 7/14/21/28/40."""
    res = model.simulate(40, times=[0, 7, 14, 21, 28, 40], params={"ka": 0.0, "kel_mAb": 0.0},
                         initial={"A_c": c_mab * 0.003}, outputs=["TV", "C_mAb"])
    assert res["C_mAb"] == pytest.approx(c_mab, abs=1e-9)
    assert res["TV"][1:] == pytest.approx(expected, abs=0.051)


@pytest.mark.parametrize("regimen, expected", [
    ("rt_5x2gy", [165.6, 278.1, 702.5, 1618.1]),
    ("anti_pdl1", [388.2, 864.5, 1388.9, 1675.0]),
    ("rt_anti_pdl1_concurrent", [131.5, 79.8, 20.4, 3.0]),
    ("rt_anti_pdl1_sequential", [156.3, 133.0, 106.5, 13.8]),
    ("rt_anti_pdl1_sequential_d19", [165.6, 255.1, 478.2, 1346.2]),
])
def test_typical_animal_arms(model, regimen, expected):
    """Note 4.3, second table: typical animal (S_L 8.89), TV_tot at days 14/21/28/40."""
    assert tv_tot(model, regimen, [0, 14, 21, 28, 40])[1:] == pytest.approx(expected, abs=0.051)


def test_typical_animal_arms_with_the_rule_on(model):
    """The same table with cure_on = 1: only concurrent on day 40 changes (3.05 -> 0.82 uL), because it is the only
    entry after a tumour has fallen below 10 uL (concurrent: day 30.4; sequential d12 only on day 40.9)."""
    expected = {"rt_5x2gy": [165.6, 278.1, 702.5, 1618.1], "anti_pdl1": [388.2, 864.5, 1388.9, 1675.0],
                "rt_anti_pdl1_concurrent": [131.5, 79.8, 20.4, 0.82],
                "rt_anti_pdl1_sequential": [156.3, 133.0, 106.5, 13.8],
                "rt_anti_pdl1_sequential_d19": [165.6, 255.1, 478.2, 1346.2]}
    for regimen, values in expected.items():
        got = tv_tot(model, regimen, [0, 14, 21, 28, 40], cure_on=1)[1:]
        assert got[:3] == pytest.approx(values[:3], abs=0.051), regimen
        assert got[3] == pytest.approx(values[3], abs=0.051 if values[3] > 1 else 0.005), regimen


@pytest.mark.parametrize("regimen, expected", [
    ("ddri", [523.3, 1216.8, 1641.3]),
    ("rt_ddri", [114.1, 118.1, 216.3]),
    ("tritherapy", [104.9, 50.0, 10.4]),
    ("tritherapy_prolonged_ddri", [106.7, 91.6, 48.0]),
])
@pytest.mark.parametrize("cure_on", [0, 1])
def test_typical_animal_ddri_arms(model, regimen, expected, cure_on):
    """Model page, DDRi table: TV_tot at days 14/21/28, the same with the rule on or off (all above 10 uL)."""
    assert tv_tot(model, regimen, [0, 14, 21, 28], cure_on=cure_on)[1:] == pytest.approx(expected, abs=0.051)


def test_untreated_immune_activation_and_the_first_antibody_peak(model):
    """Untreated IAR on day 20: 6.6 % (Kosinsky: about 5 %). First anti-PD-L1 peak (10 mg/kg, day 7): 412 nM."""
    assert model.simulate(20, times=[0, 20], outputs=["IAR"])["IAR"][-1] == pytest.approx(0.066, abs=5e-4)
    doses, p = model.regimen("anti_pdl1")
    t = np.r_[0.0, np.arange(7.0, 9.0, 0.001)]
    c = np.asarray(model.simulate(9, times=t, doses=doses, params=p, outputs=["C_mAb"], rtol=1e-10)["C_mAb"])
    assert c.max() == pytest.approx(412.0, abs=0.5)


# ----------------------------------------------------------------------------------------- radiation events
def test_fraction_moves_lq_killed_volume_into_damaged(model):
    res = model.simulate(7, times=[0, 6.999999, 7], params={"RT1_dose": 2.0}, outputs=["TV", "TVd"], rtol=1e-10)
    tv_before = res["TV"][1]
    assert res["TV"][2] == pytest.approx(tv_before * lq(2.0), rel=1e-6)
    assert res["TVd"][2] == pytest.approx(tv_before * (1 - lq(2.0)), rel=1e-6)


def test_simultaneous_fractions_compose(model):
    p = {"RT1_dose": 2.0, "RT2_dose": 3.0, "RT2_time": 7.0}
    res = model.simulate(7, times=[0, 6.999999, 7], params=p, outputs=["TV", "TVd"], rtol=1e-10)
    assert res["TV"][2] == pytest.approx(res["TV"][1] * lq(2.0) * lq(3.0), rel=1e-6)
    assert res["TV"][2] + res["TVd"][2] == pytest.approx(res["TV"][1] + res["TVd"][1], rel=1e-6)


def test_zero_dose_slots_do_nothing_and_times_are_parameters(model):
    # (events stop the integrator, so results agree to the integration tolerance, not bit for bit)
    base = model.simulate(30, points=31, outputs=["TV_tot"], rtol=1e-10)["TV_tot"]
    moved = model.simulate(30, points=31, params={f"RT{k}_time": 3.5 + k for k in range(1, 11)},
                           outputs=["TV_tot"], rtol=1e-10)["TV_tot"]
    assert moved == pytest.approx(base, rel=1e-7)
    late = model.simulate(30, points=31, params={"RT1_time": 12.25, "RT1_dose": 8.0}, outputs=["TV_tot"],
                          rtol=1e-10)["TV_tot"]
    assert late[:13] == pytest.approx(base[:13], rel=1e-7)
    assert late[13] < base[13]


# ----------------------------------------------------------------------------------------- DDRi module
def test_radiosensitisation_scales_alpha_and_beta_by_the_exposure(model):
    """A DDRi dose 40 min before a 2 Gy fraction: S = exp(-(1 + eps_RS E) (alpha D + beta D^2))."""
    t_dose, t_rt = 7.0 - 40.0 / 1440.0, 7.0
    dose = qsp.Dose("DDRi_gut", 75, unit="mg/kg", time=t_dose)
    p = {"RT1_dose": 2.0, "k_DDRi": 0.0}
    res = model.simulate(7, times=[0, 6.999999, 7], params=p, doses=dose, outputs=["TV", "E_DDRi"], rtol=1e-10)
    dt = t_rt - t_dose
    c = 0.5 * 3636.3636 * 24.0 / (0.1 * (24.0 - 8.3)) * (math.exp(-8.3 * dt) - math.exp(-24.0 * dt))
    e = (c / 1000.0) ** 2 / (1 + (c / 1000.0) ** 2)
    assert e == pytest.approx(0.9838, abs=1e-4)
    assert res["TV"][2] == pytest.approx(res["TV"][1] * lq(2.0, 1 + 0.5 * e), rel=1e-5)


def test_ddri_switch_reproduces_kosinsky_only_behaviour(model):
    t = np.linspace(0, 60, 121)
    conc = tv_tot(model, "rt_anti_pdl1_concurrent", t, rtol=1e-10)
    # the DDRi doses still stop the integrator, so agreement is to the integration tolerance
    assert tv_tot(model, "tritherapy", t, rtol=1e-10, ddri_on=0) == pytest.approx(conc, rel=1e-7)
    # DDRi parameters have no effect when no DDRi is dosed
    loud = {"eps_RS": 5.0, "k_DDRi": 3.0, "I_T": 1.0, "eps_IFN": 2.0, "I_P": 1.0}
    assert tv_tot(model, "rt_anti_pdl1_concurrent", t, rtol=1e-10, **loud) == pytest.approx(conc, rel=1e-12)


# ----------------------------------------------------------------------------------------- independent check
def _reference(params, rt, mab_doses, ddri_doses, t_out):
    """The documented equations (docs/models/tritherapy.md) written again with SciPy; bolus doses in nmol."""
    p = params

    def aux(y):
        tv, tvd, nt, dt_, pd, aip, ac, dg, dc = y
        tot = tv + tvd
        c_d = dc / p["V_DDRi"]
        h = (c_d / p["EC50_DDRi"]) ** p["n_DDRi"]
        e_d = p["ddri_on"] * h / (1 + h)
        tcd = p["mu"] * (1 + p["eps_IFN"] * e_d) * tvd / (tot + 1e-9) + p["e_kill"] * dt_ + p["d0"]
        return tot, e_d, tcd

    def rhs(t, y):
        tv, tvd, nt, dt_, pd, aip, ac, dg, dc = y
        tot, e_d, tcd = aux(y)
        dcm = tcd**2 / (tcd**2 + p["Ktcd"] ** 2)
        ag = dcm * tot
        iar = (1 - pd / (1 + ac / p["V_d"] / p["K_D"])) * (1 - ag / (ag + p["S_R"]))
        grow = 0.0 if (p["cure_on"] > 0.5 and t > p["t_cure_start"] and tot < p["V_cure"]) else 1.0
        return [grow * p["r"] * tv * (1 - tv / p["TVmax"]) - (p["e_kill"] * dt_ + p["d0"]) * tv
                - p["k_DDRi"] * e_d * tv,
                p["k_DDRi"] * e_d * tv - p["mu"] * tvd,
                p["kLN"] * ag / (ag + p["S_L"]) + (p["kpro"] * (1 - p["I_T"] * e_d) - p["kdif"]) * iar * nt
                - p["kel"] * nt,
                p["kdif"] * iar * nt - p["kapo"] * dt_,
                p["kpdl"] * ((1 - p["I_P"] * e_d) * dt_ / (p["Kpdl"] + dt_) - pd),
                -p["ka"] * aip, p["ka"] * aip - p["kel_mAb"] * ac,
                -p["ka_DDRi"] * dg, p["F_DDRi"] * p["ka_DDRi"] * dg - p["kel_DDRi"] * dc]

    events: dict[float, list] = {}
    for t, gy in rt:
        events.setdefault(t, []).append(("rt", gy))
    for t, amt in mab_doses:
        events.setdefault(t, []).append(("mab", amt))
    for t, amt in ddri_doses:
        events.setdefault(t, []).append(("ddri", amt))
    y = np.array([15.0, 0, 0, 0, 0, 0, 0, 0, 0])
    t0, out = 0.0, {}
    for t1 in sorted(events) + [max(t_out)]:
        if t1 > t0:
            sol = solve_ivp(rhs, (t0, t1), y, method="LSODA", rtol=1e-10, atol=1e-12, dense_output=True)
            for to in t_out:
                if t0 < to <= t1:
                    out[to] = sol.sol(to)
            y, t0 = sol.y[:, -1].copy(), t1
        for kind, val in events.get(t1, []):
            if kind == "rt":
                f = 1 + p["eps_RS"] * aux(y)[1]
                s = math.exp(-(p["alpha"] * f * val + p["alpha"] / p["alpha_beta"] * f * val**2))
                y[1] += y[0] * (1 - s)
                y[0] *= s
            elif kind == "mab":
                y[5] += val
            else:
                y[7] += val
    return np.array([out[t][0] + out[t][1] for t in t_out])


def test_sbml_matches_an_independent_implementation_with_every_effect_on(model):
    p = {"r": 0.4, "TVmax": 2500, "d0": 0.01, "kLN": 279, "S_L": 4.0, "kpro": 3.0, "kdif": 3.2, "kel": 0.2,
         "kapo": 2.0, "e_kill": 0.001, "Kpdl": 478, "kpdl": 1.0, "Ktcd": 0.2, "S_R": 30.5, "mu": 0.1725,
         "alpha": 0.146, "alpha_beta": 10.0, "ka": 8.0, "kel_mAb": 0.15, "K_D": 30.0, "V_d": 0.003,
         "ddri_on": 1.0, "ka_DDRi": 24.0, "F_DDRi": 0.5, "kel_DDRi": 8.3, "EC50_DDRi": 1000.0, "n_DDRi": 2.0,
         "V_DDRi": 0.1, "eps_RS": 0.8, "k_DDRi": 0.2, "I_T": 0.6, "eps_IFN": 1.5, "I_P": 0.5, "cure_on": 1.0,
         "V_cure": 10.0, "t_cure_start": 7.0}
    rt = [(7.5, 3.0), (8.5, 3.0), (9.5, 3.0), (20.25, 6.0)]
    mab = [(t, 1.3333333333333333) for t in (7.0, 9.0, 11.0, 14.0, 16.0, 18.0)]
    ddri = [(t, 3636.3636363636365) for t in (7.5 - 1 / 36, 8.5 - 1 / 36, 9.5 - 1 / 36, 10.5)]
    t_out = [10.0, 14.0, 21.0, 28.0, 40.0, 57.0]
    expected = _reference(p, rt, mab, ddri, t_out)
    params = {k: v for k, v in p.items() if k not in ("V_d", "V_DDRi")}
    params.update({"central": p["V_d"], "ddri_central": p["V_DDRi"]})
    for k, (t, gy) in enumerate(rt, 1):
        params.update({f"RT{k}_time": t, f"RT{k}_dose": gy})
    doses = [qsp.Dose("A_ip", a, time=t) for t, a in mab] + [qsp.Dose("DDRi_gut", a, time=t) for t, a in ddri]
    got = model.simulate(57, times=[0] + t_out, params=params, doses=doses, outputs=["TV_tot"], rtol=1e-10,
                         atol=1e-12)["TV_tot"][1:]
    assert got == pytest.approx(expected, rel=1e-5)
