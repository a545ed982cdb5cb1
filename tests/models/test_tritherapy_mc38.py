"""The ``mc38`` parameter set of ``tritherapy``, bridged from Voronova et al. 2021 (Front Immunol 12:617316).

Source of every Voronova number: GitHub ``VeronikaVor2/IO-QSP-model-adenosine-``, commit
f4386ebe5304d8633e77263f919ca7f78099ba68 (files ``populationParameters.txt``, ``A2A_clean_tv_sim.txt``,
``run01_finalref.mlxtran``, ``AZD4635_github.R``); file and line are given next to each value below.

The repository holds no tumour-volume data (the fit data file is not published there). The reference curves are
the typical MC38 animal simulated from Voronova's equations and population estimates, restated here in SciPy
(:func:`voronova`). ``docs/models/tritherapy_mc38.md`` states the mapping and every number checked here.

The set is read with ``qsp.load_model("tritherapy").parameter_set("mc38")``. Until it is merged into the model
metadata, the staging file ``out/mc38_parameter_set.json`` is injected into ``model.metadata``.

Run this file as a script to redraw ``docs/figures/tritherapy_mc38_calibration.png``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import least_squares

import qsp

ROOT = Path(__file__).resolve().parents[2]
STAGING = ROOT / "out" / "mc38_parameter_set.json"
ANT = ROOT / "sbml_models" / "tritherapy.ant"

# --------------------------------------------------------------------------- Voronova's published values
# name: (value, file, line). PP = populationParameters.txt, MOD = A2A_clean_tv_sim.txt.
PP, MOD = "populationParameters.txt", "A2A_clean_tv_sim.txt"
VORONOVA = {
    "TVin_pop": (2.05452388904701, PP, 2),
    "beta_TVin_Model_MC38": (0.0, PP, 3),
    "TVmax_pop": (3500.0, PP, 5),
    "beff_pop": (0.001, PP, 6),
    "r_pop": (0.521743095907443, PP, 7),
    "kLn_pop": (209.674023531827, PP, 8),
    "sL_pop": (4.55575391256157, PP, 9),
    "beta_sL_Study_CIV226": (-0.737482483434612, PP, 10),   # CIV226 = CT26 (AZD4635_github.R lines 43, 70)
    "beta_sL_Study_CIV227": (-0.747030668928987, PP, 11),   # CIV227 = MC38
    "Kp_pop": (1279.91714283438, PP, 13),
    "Kado_pop": (80.0, PP, 14),
    "Vado_pop": (100000.0, PP, 15),
    "beta_Vado_Model_MC38": (-0.5, PP, 16),
    "IC50_pop": (1.82315256991075, PP, 18),
    "sR_pop": (57.0519720073586, PP, 19),
    "beta_sR_Model_MC38": (-0.155518400669642, PP, 20),
    "sCf_pop": (1.0, PP, 22),
    "omega_sL": (0.322226249102547, PP, 23),
    "omega_sR": (0.136836082237707, PP, 24),
    "b1": (0.270883650012783, PP, 25),
    "convF1": (6.66, MOD, 44),      # nmol per mg of antibody
    "kainput1": (8.0, MOD, 45),
    "Vc": (0.003, MOD, 46),
    "kelmab": (0.1, MOD, 47),
    "Kd1": (30.0, MOD, 82),
    "kel": (0.2, MOD, 83),
    "kapo": (2.0, MOD, 84),
    "kpro": (3.0, MOD, 85),
    "kdif": (3.2, MOD, 86),
    "d": (0.01, MOD, 89),
    "Vmax_supr": (0.7, MOD, 91),
    "Kd_ado": (1182.0, MOD, 60),
    "kpdl_implicit": (1.0, MOD, 139),   # ddt_PDL1 = CTL/(CTL + Kp) - PDL1: unit rate constant, 1/day
}


# relative standard errors (%) of the estimates quoted in the documentation (populationParameters.txt, 4th column)
RSE = {"r_pop": (10.0249072174283, 7), "kLn_pop": (5.47051996571523, 8), "Kp_pop": (32.4611655420376, 13),
       "beta_sR_Model_MC38": (53.8107183849632, 20)}


def v(name: str) -> float:
    return VORONOVA[name][0]


# tritherapy id -> (value from Voronova after the stated conversion, conversion)
MAPPED = {
    "TV": (v("TVin_pop") * math.exp(v("beta_TVin_Model_MC38")), "TVin_pop x exp(beta_TVin_Model_MC38), uL"),
    "r": (v("r_pop"), "identity, 1/day"),
    "TVmax": (v("TVmax_pop"), "identity, uL"),
    "e_kill": (v("beff_pop"), "identity, 1/(cell day)"),
    "d0": (v("d"), "identity, 1/day"),
    "kLN": (v("kLn_pop"), "identity, cells/day"),
    "kpro": (v("kpro"), "identity, 1/day"),
    "kdif": (v("kdif"), "identity, 1/day"),
    "kel": (v("kel"), "identity, 1/day"),
    "kapo": (v("kapo"), "identity, 1/day"),
    "Kpdl": (v("Kp_pop"), "identity, cells"),
    "kpdl": (v("kpdl_implicit"), "implicit unit rate, 1/day"),
    "K_D": (v("Kd1"), "identity, nM"),
    "ka": (v("kainput1"), "identity, 1/day"),
    "kel_mAb": (v("kelmab"), "identity, 1/day"),
}
CALIBRATED = {"S_L": 2.70, "S_R": 85.1}
NOT_IN_SET = ["Ktcd", "mu", "alpha", "alpha_beta", "ka_DDRi", "F_DDRi", "kel_DDRi", "EC50_DDRi", "n_DDRi", "eps_RS",
              "k_DDRi", "I_T", "eps_IFN", "I_P", "cure_on", "ddri_on", "V_cure", "t_cure_start"]

# Typical MC38 animal of Voronova: sL by study CIV227, sR and Vado by cell line MC38
SL_MC38 = v("sL_pop") * math.exp(v("beta_sL_Study_CIV227"))
SR_MC38 = v("sR_pop") * math.exp(v("beta_sR_Model_MC38"))
VADO_MC38 = v("Vado_pop") * math.exp(v("beta_Vado_Model_MC38"))
SL_CT26 = v("sL_pop") * math.exp(v("beta_sL_Study_CIV226"))
SR_CT26, VADO_CT26 = v("sR_pop"), v("Vado_pop")

# Anti-PD-L1 arm of the calibration: 0.125 mg (AZD4635_github.R line 39) x convF1 into the i.p. depot, every
# 3.5 days from day 7 to day 22 (days 7, 10.5, 14, 17.5, 21)
PD_TIMES = [7.0, 10.5, 14.0, 17.5, 21.0]
PD_NMOL = 0.125 * v("convF1")
FIT_DAYS = np.arange(7.0, 31.0, 1.0)
DAYS = [7, 14, 21, 28, 30]


# --------------------------------------------------------------------------- Voronova's model, restated
def voronova(times, *, sL=SL_MC38, sR=SR_MC38, Vado=VADO_MC38, pd=False, adenosine=True, cure=True,
             pd_nmol=PD_NMOL):
    """Tumour volume (uL) of Voronova's model (A2A_clean_tv_sim.txt lines 74-140), typical animal, no AZD4635.

    States: Tum, TN (nTeff), CTL (dTeff), PDL1, Ado, antibody depot and central amounts (nmol). Ado starts at 0
    (no initial value in the file). ``adenosine=False`` sets the adenosine suppression to 0.
    """
    times = np.asarray(times, float)
    occ_k = v("sCf_pop") / v("Kd_ado")

    def rhs(t, y):
        tum, tn, ctl, pdl1, ado, dep, cen = y
        grow = 0.0 if (cure and t > 7 and tum < 10) else 1.0
        pdl1_free = pdl1 / (1 + cen / v("Vc") / v("Kd1"))
        occ = ado * occ_k / (1 + ado * occ_k)
        supr = v("Vmax_supr") * occ / (occ + v("IC50_pop")) if adenosine else 0.0
        tkr = v("beff_pop") * ctl + v("d")
        ag = tkr * tum * (1 - supr)
        iar = (1 - pdl1_free) * (1 - ag / (ag + sR)) * (1 - supr)
        return [tum * v("r_pop") * (1 - tum / v("TVmax_pop")) * grow - tkr * tum,
                v("kLn_pop") * ag / (ag + sL) + v("kpro") * iar * tn - v("kel") * tn - v("kdif") * iar * tn,
                v("kdif") * iar * tn - v("kapo") * ctl,
                ctl / (ctl + v("Kp_pop")) - pdl1,
                Vado * tum / (tum + v("Kado_pop")) - ado,
                -v("kainput1") * dep,
                v("kainput1") * dep - v("kelmab") * cen]

    y = np.array([v("TVin_pop"), 0, 0, 0, 0, 0, 0], float)
    out = np.full(times.size, np.nan)
    t0 = 0.0
    stops = [t for t in PD_TIMES if pd and t <= times.max()] + [times.max()]
    for stop in stops:
        if stop > t0:
            sol = solve_ivp(rhs, (t0, stop), y, method="LSODA", rtol=1e-9, atol=1e-12, dense_output=True)
            sel = (times >= t0) & (times <= stop)
            if sel.any():
                out[sel] = sol.sol(times[sel])[0]
            y, t0 = sol.y[:, -1].copy(), stop
        if pd and stop in PD_TIMES:
            y[5] += pd_nmol
    out[times == 0] = v("TVin_pop")
    return out


def pd_doses():
    return [qsp.Dose("A_ip", PD_NMOL, unit="nmol", time=t) for t in PD_TIMES]


def a_inf(vado):
    """Adenosine suppression of Voronova's model at large tumours (Ado -> Vado)."""
    x = vado * v("sCf_pop") / v("Kd_ado")
    occ = x / (1 + x)
    return v("Vmax_supr") * occ / (occ + v("IC50_pop"))


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def model():
    m = qsp.load_model("tritherapy")
    if "mc38" not in m.metadata.get("parameter_sets", {}):
        if not STAGING.exists():
            pytest.fail("no 'mc38' parameter set in the tritherapy metadata and no staging file "
                        f"{STAGING.relative_to(ROOT)}")
        staged = json.loads(STAGING.read_text())["mc38"]
        m.metadata["parameter_sets"] = {**m.metadata.get("parameter_sets", {}), "mc38": staged}
    return m


@pytest.fixture(scope="module")
def mc38(model):
    return model.parameter_set("mc38")


@pytest.fixture(scope="module")
def flux_model():
    """tritherapy with Voronova's antigen term (Ag = TCD x TV_tot instead of DCm x TV_tot), built in memory."""
    text = ANT.read_text()
    line = "Ag := DCm * TV_tot;"
    if text.count(line) != 1:
        pytest.skip(f"{ANT.name} no longer has the line {line!r}")
    return qsp.Model.from_antimony(text.replace(line, "Ag := TCD * TV_tot;"))


def tv(model, params, times, doses=None, rtol=1e-6):
    return model.simulate(max(times), times=[0, *times], params=params, doses=doses, outputs=["TV_tot"],
                          rtol=rtol)["TV_tot"][1:]


def regimen_tv(model, regimen, times, params=None):
    doses, p = model.regimen(regimen)
    return tv(model, {**p, **(params or {})}, times, doses)


# --------------------------------------------------------------------------- the set itself
def test_set_holds_the_mapped_and_calibrated_values_with_provenance(model, mc38):
    pset = model.metadata["parameter_sets"]["mc38"]
    assert set(mc38) == set(MAPPED) | set(CALIBRATED)
    assert set(pset["per_parameter"]) == set(mc38)
    assert all(pset["per_parameter"][k].strip() for k in mc38)
    assert len(pset["provenance"]) >= 3 and pset["description"]
    for pid, (value, _conversion) in MAPPED.items():
        assert mc38[pid] == pytest.approx(value, rel=1e-12), pid
    assert mc38["S_L"] == CALIBRATED["S_L"] and mc38["S_R"] == CALIBRATED["S_R"]
    known = set(model.parameters.index)
    assert set(mc38) <= known
    assert not set(NOT_IN_SET) & set(mc38)
    assert set(NOT_IN_SET) <= known
    # values that stay: CT26 Ktcd, mu, alpha, alpha/beta
    defaults = model.parameters["value"]
    assert [defaults[k] for k in ("Ktcd", "mu", "alpha", "alpha_beta")] == pytest.approx([0.2, 0.1725, 0.146, 10.0])


def test_mapped_values_that_equal_the_ct26_defaults(model, mc38):
    """d0, e_kill, kpro, kdif, kel, kapo, kpdl, K_D and ka are the same in both fits."""
    defaults = model.parameters["value"]
    same = ["d0", "e_kill", "kpro", "kdif", "kel", "kapo", "kpdl", "K_D", "ka"]
    for pid in same:
        assert mc38[pid] == pytest.approx(defaults[pid], rel=1e-12), pid
    changed = {"TV": 15.0, "r": 0.4, "TVmax": 2500.0, "kLN": 279.0, "Kpdl": 478.0, "kel_mAb": 0.15,
               "S_L": 8.89, "S_R": 30.5}
    for pid, ct26 in changed.items():
        assert defaults[pid] == pytest.approx(ct26, rel=1e-12), pid
        assert mc38[pid] != pytest.approx(ct26, rel=1e-3), pid


def test_antibody_units_agree():
    # Voronova: 6.66 nmol per mg, Vc 3 mL; tritherapy metadata: 150 kDa, compartment `central` 3 mL
    meta = qsp.load_model("tritherapy")
    mw = next(d["molecular_weight"] for d in meta.metadata["drugs"] if d["target"] == "A_ip")
    nmol_per_mg = 1e-3 / mw * 1e9
    assert nmol_per_mg == pytest.approx(6.6667, abs=1e-4)
    assert abs(nmol_per_mg / v("convF1") - 1) < 0.0011
    assert meta.simulate(1, times=[0, 1], outputs=["central"])["central"][0] == pytest.approx(v("Vc"), rel=1e-12)


def test_voronova_typical_values():
    assert SL_MC38 == pytest.approx(2.158, abs=5e-4)
    assert SR_MC38 == pytest.approx(48.83, abs=5e-3)
    assert VADO_MC38 == pytest.approx(60653, abs=1)
    assert SL_CT26 == pytest.approx(2.179, abs=5e-4)
    # MC38 / CT26 within Voronova's fit
    assert SL_MC38 / SL_CT26 == pytest.approx(0.990, abs=5e-4)
    assert SR_MC38 / SR_CT26 == pytest.approx(0.856, abs=5e-4)
    assert VADO_MC38 / VADO_CT26 == pytest.approx(0.607, abs=5e-4)
    # adenosine suppression at large tumours
    assert a_inf(VADO_MC38) == pytest.approx(0.2449, abs=5e-5)
    assert a_inf(VADO_CT26) == pytest.approx(0.2461, abs=5e-5)
    # ratio transfer onto Kosinsky's CT26 values (rejected alternative)
    assert 8.89 * SL_MC38 / SL_CT26 == pytest.approx(8.81, abs=5e-3)
    assert 30.5 * SR_MC38 / SR_CT26 == pytest.approx(26.1, abs=5e-2)
    assert PD_NMOL == pytest.approx(0.8325, abs=1e-9)
    # conversion factor S_L / sL = TCD / ((1 - A)(TCD^2 + Ktcd^2)) at TCD = d0 and at TCD = Ktcd (times (1 - A))
    ktcd = 0.2
    assert v("d") / (v("d") ** 2 + ktcd**2) == pytest.approx(0.25, abs=0.001)
    assert ktcd / (2 * ktcd**2) == pytest.approx(2.5, abs=1e-12)
    assert {k: round(val) for k, (val, _line) in RSE.items()} == {"r_pop": 10, "kLn_pop": 5, "Kp_pop": 32,
                                                                  "beta_sR_Model_MC38": 54}


# --------------------------------------------------------------------------- structure: which terms differ
@pytest.mark.parametrize("pd", [False, True])
def test_only_antigen_term_and_adenosine_differ(model, flux_model, pd):
    """With Ag = TCD x TV_tot and Voronova's adenosine suppression off, the SBML model equals Voronova's equations."""
    params = {pid: val for pid, (val, _c) in MAPPED.items()} | {"S_L": SL_MC38, "S_R": SR_MC38}
    times = [7, 14, 21, 28, 30]
    sbml = tv(flux_model, params, times, pd_doses() if pd else None, rtol=1e-10)
    ref = voronova(times, pd=pd, adenosine=False, cure=False)
    assert np.max(np.abs(sbml / ref - 1)) < 1e-6


# --------------------------------------------------------------------------- calibration of S_L and S_R
def calibrate(model, mc38, ref_vehicle, ref_pd, start):
    doses = pd_doses()

    def residuals(x):
        p = {**mc38, "S_L": math.exp(x[0]), "S_R": math.exp(x[1])}
        return np.concatenate([np.log(tv(model, p, FIT_DAYS)) - np.log(ref_vehicle),
                               np.log(tv(model, p, FIT_DAYS, doses)) - np.log(ref_pd)])

    fit = least_squares(residuals, np.log(start), xtol=1e-10, ftol=1e-10)
    return np.exp(fit.x), fit


def test_calibration_reproduces_the_stored_values(model, mc38):
    s, fit = calibrate(model, mc38, voronova(FIT_DAYS), voronova(FIT_DAYS, pd=True), [2.0, 60.0])
    assert s == pytest.approx([2.698, 85.13], rel=5e-4)
    assert s == pytest.approx([CALIBRATED["S_L"], CALIBRATED["S_R"]], rel=0.002)
    assert np.sqrt(np.mean(fit.fun**2)) == pytest.approx(0.0891, abs=5e-4)


def test_same_bridge_on_voronova_ct26(model, mc38):
    """The bridge applied to Voronova's CT26 animal: S_L 2.79, S_R 93.2 (MC38/CT26 ratios 0.97, 0.91)."""
    kw = dict(sL=SL_CT26, sR=SR_CT26, Vado=VADO_CT26)
    s, _ = calibrate(model, mc38, voronova(FIT_DAYS, **kw), voronova(FIT_DAYS, pd=True, **kw), [2.7, 85.0])
    assert s == pytest.approx([2.79, 93.2], rel=0.002)
    assert CALIBRATED["S_L"] / s[0] == pytest.approx(0.97, abs=0.005)
    assert CALIBRATED["S_R"] / s[1] == pytest.approx(0.91, abs=0.005)


def test_profile_shows_a_single_minimum(model, mc38):
    """Vehicle arm alone: with S_L fixed, the best S_R and the r.m.s. log error (S_L is identifiable)."""
    ref = np.log(voronova(FIT_DAYS))

    def rms(s_l, s_r):
        return float(np.sqrt(np.mean((np.log(tv(model, {**mc38, "S_L": s_l, "S_R": s_r}, FIT_DAYS)) - ref) ** 2)))

    got = {}
    for s_l in (1.5, 2.7, 4.0):
        fit = least_squares(lambda x: np.log(tv(model, {**mc38, "S_L": s_l, "S_R": math.exp(x[0])}, FIT_DAYS)) - ref,
                            [math.log(34 * s_l)], xtol=1e-10)
        got[s_l] = (math.exp(fit.x[0]), rms(s_l, math.exp(fit.x[0])))
    assert got[2.7][1] == pytest.approx(0.048, abs=0.001)
    assert got[1.5][1] == pytest.approx(0.201, abs=0.001)
    assert got[4.0][1] == pytest.approx(0.143, abs=0.001)
    assert [got[s][0] for s in (1.5, 2.7, 4.0)] == pytest.approx([51.6, 92.5, 133.3], abs=0.051)
    assert all(33 < got[s][0] / s < 35 for s in got)   # the ridge S_R ~ 34 S_L


# --------------------------------------------------------------------------- untreated growth vs Voronova
REF_VEHICLE = [54.1, 234.1, 813.1, 1910.9, 2122.6]
REF_PD = [54.1, 178.2, 434.2, 1193.4, 1494.3]


def test_voronova_reference_curves():
    assert voronova(DAYS) == pytest.approx(REF_VEHICLE, abs=0.051)
    assert voronova(DAYS, pd=True) == pytest.approx(REF_PD, abs=0.051)
    ct26 = voronova(DAYS, sL=SL_CT26, sR=SR_CT26, Vado=VADO_CT26)
    assert ct26 == pytest.approx([54.7, 223.4, 700.1, 1698.6, 1933.8], abs=0.051)
    # without adenosine suppression, and with neither adenosine nor T cells
    higher = voronova([30], pd=True, pd_nmol=0.2 * v("convF1"))[0]
    assert higher == pytest.approx(1464.4, abs=0.051)
    assert higher / REF_PD[-1] - 1 == pytest.approx(-0.020, abs=5e-4)
    assert REF_VEHICLE[2] / ct26[2] - 1 == pytest.approx(0.16, abs=0.005)
    assert voronova(DAYS, adenosine=False) == pytest.approx([43.1, 106.4, 222.0, 628.6, 867.4], abs=0.051)


def test_mc38_set_reproduces_voronova_untreated_growth(model, mc38):
    vehicle = tv(model, mc38, DAYS)
    anti = tv(model, mc38, DAYS, pd_doses())
    assert vehicle == pytest.approx([60.1, 242.0, 931.8, 2156.0, 2340.3], abs=0.051)
    assert anti == pytest.approx([60.1, 171.5, 393.4, 1255.9, 1620.7], abs=0.051)
    dev_v = tv(model, mc38, FIT_DAYS) / voronova(FIT_DAYS) - 1
    dev_p = tv(model, mc38, FIT_DAYS, pd_doses()) / voronova(FIT_DAYS, pd=True) - 1
    assert dev_v.min() == pytest.approx(0.033, abs=5e-4) and dev_v.max() == pytest.approx(0.169, abs=5e-4)
    assert dev_p.min() == pytest.approx(-0.100, abs=5e-4) and dev_p.max() == pytest.approx(0.112, abs=5e-4)
    # stated tolerance: every day 7-30 within 17 % (vehicle) and 12 % (anti-PD-L1), below b1 = 27 %
    assert np.abs(dev_v).max() < 0.17 and np.abs(dev_p).max() < 0.12 < 0.17 < v("b1")
    assert v("b1") == pytest.approx(0.271, abs=5e-4)


def test_transfers_that_fail(model, mc38, flux_model):
    """Voronova's sL, sR copied as numbers; the CT26 set; the death-flux variant with and without adenosine."""
    naive = tv(model, {**mc38, "S_L": SL_MC38, "S_R": SR_MC38}, DAYS)
    assert naive == pytest.approx([56.0, 298.2, 1473.4, 2587.6, 2674.4], abs=0.051)
    assert naive[2] / REF_VEHICLE[2] - 1 == pytest.approx(0.81, abs=0.005)
    assert tv(model, {}, DAYS) == pytest.approx([149.2, 488.4, 1146.2, 1608.9, 1667.5], abs=0.051)
    direct = {**mc38, "S_L": SL_MC38, "S_R": SR_MC38}
    assert tv(flux_model, direct, DAYS, rtol=1e-10) == pytest.approx([43.1, 106.4, 222.0, 628.6, 867.4], abs=0.051)
    assert tv(flux_model, direct, DAYS, pd_doses(), rtol=1e-10) == pytest.approx(
        [43.1, 64.5, 40.1, 14.0, 10.1], abs=0.051)
    a = a_inf(VADO_MC38)
    folded = {**direct, "S_L": SL_MC38 / (1 - a), "S_R": SR_MC38 / (1 - a), "kpro": 3.0 * (1 - a),
              "kdif": 3.2 * (1 - a)}
    assert tv(flux_model, folded, DAYS, rtol=1e-10) == pytest.approx([55.5, 246.8, 861.9, 1954.3, 2152.2], abs=0.051)
    dev = np.concatenate([tv(flux_model, folded, FIT_DAYS, rtol=1e-10) / voronova(FIT_DAYS),
                          tv(flux_model, folded, FIT_DAYS, pd_doses(), rtol=1e-10) / voronova(FIT_DAYS, pd=True)]) - 1
    assert np.abs(dev).max() == pytest.approx(0.114, abs=5e-4)   # within 12 %, no fitting
    assert tv(flux_model, folded, DAYS, pd_doses(), rtol=1e-10) == pytest.approx(
        [55.5, 190.0, 480.9, 1302.1, 1599.0], abs=0.051)


# --------------------------------------------------------------------------- treated outcomes vs the CT26 set
TREATED = {  # regimen: (CT26 set, mc38 set), TV_tot (uL) on days 7, 14, 21, 28, 40; typical animal, no cure rule
    "untreated": ([149.2, 488.4, 1146.2, 1608.9, 1758.5], [60.1, 242.0, 931.8, 2156.0, 2560.0]),
    "rt_5x2gy": ([149.2, 165.6, 278.1, 702.5, 1618.1], [60.1, 62.0, 45.7, 34.8, 21.3]),
    "anti_pdl1": ([149.2, 388.2, 864.5, 1388.9, 1675.0], [60.1, 167.6, 367.8, 1168.0, 2460.8]),
    "rt_anti_pdl1_concurrent": ([149.2, 131.5, 79.8, 20.4, 3.0], [60.1, 47.9, 14.9, 4.7, 3.9]),
    "rt_anti_pdl1_sequential": ([149.2, 156.3, 133.0, 106.5, 13.8], [60.1, 57.0, 18.5, 5.5, 3.8]),
    "rt_anti_pdl1_sequential_d19": ([149.2, 165.6, 255.1, 478.2, 1346.2], [60.1, 62.0, 37.3, 9.2, 3.8]),
    "rt_10gy": ([149.2, 65.7, 41.7, 31.6, 24.6], [60.1, 24.6, 11.3, 7.1, 8.3]),
    "rt_10gy_anti_pdl1": ([149.2, 55.4, 15.1, 4.3, 2.6], [60.1, 21.4, 6.5, 2.6, 4.7]),
}
TREATED_DAYS = [7, 14, 21, 28, 40]


@pytest.mark.parametrize("regimen", list(TREATED))
def test_treated_outcomes_typical_animal(model, mc38, regimen):
    ct26, mc = TREATED[regimen]
    assert regimen_tv(model, regimen, TREATED_DAYS) == pytest.approx(ct26, abs=0.051)
    assert regimen_tv(model, regimen, TREATED_DAYS, mc38) == pytest.approx(mc, abs=0.051)


def test_anti_pdl1_regimen_last_dose(model):
    doses, _ = model.regimen("anti_pdl1")
    assert max(d.time + d.every * (d.count - 1) for d in doses) == pytest.approx(25.0)


def test_initial_volume_carries_the_better_response(model, mc38):
    """The mc38 set started from the CT26 volume (15 uL on day 0): RT alone then does worse than in CT26."""
    assert regimen_tv(model, "untreated", TREATED_DAYS, {**mc38, "TV": 15.0}) == pytest.approx(
        [188.7, 790.5, 2056.0, 2512.0, 2566.1], abs=0.051)
    assert regimen_tv(model, "rt_5x2gy", TREATED_DAYS, {**mc38, "TV": 15.0}) == pytest.approx(
        [188.7, 229.9, 529.3, 1669.8, 2545.1], abs=0.051)


VPOP_MC38 = {"untreated": 0.5, "rt_5x2gy": 44.0, "anti_pdl1": 32.5, "rt_anti_pdl1_concurrent": 98.5,
             "rt_anti_pdl1_sequential": 98.0, "rt_anti_pdl1_sequential_d19": 95.0, "rt_10gy": 81.5,
             "rt_10gy_anti_pdl1": 100.0}


def test_virtual_population_responders(model, mc38):
    """200 animals: S_L = 2.70 exp(0.322 z1), S_R = 85.1 exp(0.137 z2), z = default_rng(1).standard_normal((200, 2)).

    Responder rule of the metadata (TV_tot <= 10 uL on day 57, eradication rule on). The CT26 rates are in
    docs/models/tritherapy.md and tests/models/test_tritherapy.py.
    """
    z = np.random.default_rng(1).standard_normal((200, 2))
    s_l = mc38["S_L"] * np.exp(v("omega_sL") * z[:, 0])
    s_r = mc38["S_R"] * np.exp(v("omega_sR") * z[:, 1])
    rule = model.metadata["responder"]
    got = {}
    for regimen in VPOP_MC38:
        doses, p = model.regimen(regimen)
        base = {**p, **mc38, **rule["params"]}
        final = [model.simulate(rule["time"], times=[0, rule["time"]], doses=doses,
                                params={**base, "S_L": float(a), "S_R": float(b)},
                                outputs=[rule["output"]])[rule["output"]][-1] for a, b in zip(s_l, s_r)]
        got[regimen] = 100.0 * np.mean(np.array(final) <= rule["threshold"])
    assert got == pytest.approx(VPOP_MC38, abs=1e-9)


# --------------------------------------------------------------------------- figure
def draw(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = qsp.load_model("tritherapy")
    if "mc38" not in model.metadata.get("parameter_sets", {}):
        model.metadata["parameter_sets"] = {**model.metadata.get("parameter_sets", {}),
                                            "mc38": json.loads(STAGING.read_text())["mc38"]}
    mc38 = model.parameter_set("mc38")
    t = np.linspace(0.5, 30, 60)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    ax.plot(t, voronova(t), "k-", label="Voronova MC38, vehicle")
    ax.plot(t, voronova(t, pd=True), "k--", label="Voronova MC38, anti-PD-L1")
    ax.plot(t, tv(model, mc38, list(t)), "C0-", label="tritherapy mc38, vehicle")
    ax.plot(t, tv(model, mc38, list(t), pd_doses()), "C0--", label="tritherapy mc38, anti-PD-L1")
    ax.plot(t, tv(model, {}, list(t)), "C3:", label="tritherapy CT26 set, untreated")
    ax.set(yscale="log", xlabel="day after implant", ylabel="tumour volume (uL)", ylim=(1, 4000),
           title="Calibration target (typical animal)")
    ax.legend(fontsize=7)
    ax = axes[1]
    t2 = np.linspace(0.5, 40, 80)
    for i, reg in enumerate(["untreated", "rt_5x2gy", "anti_pdl1", "rt_anti_pdl1_concurrent"]):
        ax.plot(t2, regimen_tv(model, reg, list(t2)), color=f"C{i}", ls=":")
        ax.plot(t2, regimen_tv(model, reg, list(t2), mc38), color=f"C{i}", ls="-", label=reg)
    ax.set(yscale="log", xlabel="day after implant", ylabel="TV_tot (uL)", ylim=(1, 4000),
           title="mc38 set (solid) vs CT26 set (dotted)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    draw(ROOT / "docs" / "figures" / "tritherapy_mc38_calibration.png")
