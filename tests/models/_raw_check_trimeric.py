"""Standalone check of the ``trimeric`` model with plain libRoadRunner (no qsp import).

Run: ``python tests/models/_raw_check_trimeric.py``. Prints one line per check and exits non-zero on a failure.
Boluses are applied the way qsp applies them: stop the integrator at the dose time, add the amount to the
species with ``setValue`` and restart.

Reference numbers: docs/models/trimeric.md, section "Reproduced behaviour".
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import antimony
import libsbml
import numpy as np
import roadrunner

ROOT = Path(__file__).resolve().parents[2]
XML = ROOT / "sbml_models" / "trimeric.xml"
ANT = ROOT / "sbml_models" / "trimeric.ant"
MW = 2.0e5  # g/mol, so 1 mg = 5 nmol
CLOSED = {"CL": 0.0, "Q": 0.0, "k_T": 0.0, "kdegA": 0.0, "kdegB": 0.0, "kintA": 0.0, "kintB": 0.0, "kintAB": 0.0}
FAILURES: list[str] = []


# --------------------------------------------------------------------------------------------- utilities
def douglass(a_t, b_t, c_t, k_ab, k_bc):
    """Non-cooperative three-body equilibrium (Douglass et al. 2013); B is the bridging molecule (the drug).

    Each drug site binds like an independent 1:1 isotherm against the whole drug pool; the trimer is the product
    of the two site occupancies divided by the drug total. The root is written in its cancellation-free form.
    """

    def occupied(x_t, k):
        s = x_t + b_t + k
        return 2.0 * x_t * b_t / (s + math.sqrt(s * s - 4.0 * x_t * b_t))

    phi_ab = occupied(a_t, k_ab)
    phi_bc = occupied(c_t, k_bc)
    abc = phi_ab * phi_bc / b_t
    return {
        "ABC": abc,
        "AB": phi_ab - abc,
        "BC": phi_bc - abc,
        "A": a_t - phi_ab,
        "C": c_t - phi_bc,
        "B": b_t - phi_ab - phi_bc + abc,
    }


def new_rr(sbml: str | None = None) -> roadrunner.RoadRunner:
    r = roadrunner.RoadRunner(sbml if sbml is not None else str(XML))
    r.integrator.relative_tolerance = 1e-10
    r.integrator.absolute_tolerance = 1e-16
    r.integrator.maximum_num_steps = 200000
    r["KD2"] = 5.0  # the reference tables were computed with K_D2 = 5 nM (parameter set kd2_5nM)
    r.reset()
    return r


def set_params(r, params):
    for k, v in params.items():
        r[k] = v
    r.reset()  # re-evaluates initial assignments (A = A0, B = B0, D = D0) with the new values


def run(r, t_end, times, doses=()):
    """Simulate on ``times`` with bolus doses [(time, species, amount_nmol)]; returns a dict of arrays.

    At a dose time the sampled value is the one just after the bolus.
    """
    sel = ["time", "[Cp]", "[Cper]", "[D]", "[A]", "[B]", "[DA]", "[DB]", "[ADB]", "pct_trimer",
           "FAP_tot", "R41BB_tot", "Cp", "Cper", "D", "DA", "DB", "ADB"]
    r.timeCourseSelections = sel
    times = np.asarray(times, float)
    events = sorted(doses)
    out = []
    grid = list(times)
    # split the grid at the dose times
    stops = sorted({d[0] for d in events if 0.0 <= d[0] < t_end})
    bounds = sorted(set([0.0] + stops + [t_end]))
    segments = list(zip(bounds[:-1], bounds[1:]))
    for a, b in segments:
        for (td, sp, amt) in events:
            if td == a:
                r.setValue(sp, r.getValue(sp) + amt)
        pts = [x for x in grid if a <= x <= b and not (x == b and b != t_end)]
        seg = sorted(set([a] + pts + [b]))
        res = r.simulate(times=seg)
        arr = np.array(res)
        keep = np.isin(arr[:, 0], pts)
        out.append(arr[keep])
    data = np.vstack(out)
    return {name: data[:, i] for i, name in enumerate(sel)}


def check(name, measured, reference, rtol=None, atol=0.0, printed=None):
    """Record a pass/fail line. ``printed``: compare to a number printed with limited digits."""
    if printed is not None:
        reference = float(printed)
        mant = printed.lower().split("e")
        exp = int(mant[1]) if len(mant) > 1 else 0
        decimals = len(mant[0].split(".")[1]) if "." in mant[0] else 0
        tol = 0.5 * 10.0 ** (exp - decimals) * 1.0001 + 2e-4 * abs(reference)
    else:
        tol = rtol * abs(reference) + atol
    ok = abs(measured - reference) <= tol
    rel = abs(measured - reference) / abs(reference) if reference else abs(measured)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: measured {measured:.7g}, reference {reference:.7g}, rel.err {rel:.2e}")
    if not ok:
        FAILURES.append(name)


def parabola_peak(x, y):
    """Vertex of the parabola through the three points around the sampled maximum (x on any scale)."""
    i = int(np.argmax(y))
    i = min(max(i, 1), len(y) - 2)
    x0, x1, x2 = x[i - 1 : i + 2]
    y0, y1, y2 = y[i - 1 : i + 2]
    den = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
    b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / den
    c = (x1 * x2 * (x1 - x2) * y0 + x2 * x0 * (x2 - x0) * y1 + x0 * x1 * (x0 - x1) * y2) / den
    xv = -b / (2 * a)
    return xv, c - b * b / (4 * a)


def closed_equilibrium(r, a_t, b_t, c_t, k1, k2, alpha=1.0, t_end=400.0):
    set_params(r, {**CLOSED, "A0": a_t, "D0": b_t, "B0": c_t, "KD1": k1, "KD2": k2, "alpha": alpha})
    r.timeCourseSelections = ["time", "[A]", "[B]", "[D]", "[DA]", "[DB]", "[ADB]"]
    res = np.array(r.simulate(0, t_end, 3))[-1]
    return dict(zip(["A", "C", "B", "AB", "BC", "ABC"], res[1:]))


# --------------------------------------------------------------------------------------------- checks
def check_consistency():
    doc = libsbml.readSBMLFromFile(str(XML))
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    n_err = sum(doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR for i in range(doc.getNumErrors()))
    check("libSBML consistency errors", n_err, 0, rtol=0, atol=0)
    check("SBML level.version", doc.getLevel() * 10 + doc.getVersion(), 32, rtol=0)


def check_douglass():
    r = new_rr()
    rows = [  # A_t, B_t (drug), C_t, K_AB, K_BC, [ABC], [AB], [BC], [A], [B], [C]  (reference note, table 6.3)
        (0.01, 1.0, 0.05, 0.7, 10, 2.6563327e-5, 5.841527e-3, 4.500178e-3, 4.1319097e-3, 0.98963173, 0.045473259),
        (1, 1, 1, 0.01, 0.01, 0.81879891, 0.086076171, 0.086076171, 0.095124922, 9.0487508e-3, 0.095124922),
        (0.5, 3.0, 2.0, 0.7, 10, 0.054031841, 0.34009595, 0.35724472, 0.10587221, 2.2486275, 1.5887234),
        (2.0, 0.3, 0.5, 0.07, 5, 0.024957828, 0.26325624, 1.0205995e-3, 1.7117859, 0.010765328, 0.47402157),
    ]
    for i, (a_t, b_t, c_t, k1, k2, *ref) in enumerate(rows, 1):
        cf = douglass(a_t, b_t, c_t, k1, k2)
        sim = closed_equilibrium(r, a_t, b_t, c_t, k1, k2)
        for key, rv in zip(["ABC", "AB", "BC", "A", "B", "C"], ref):
            check(f"Douglass row {i} [{key}] simulation vs closed form", sim[key], cf[key], rtol=1e-6)
        check(f"Douglass row {i} closed form [ABC] vs table", cf["ABC"], ref[0], rtol=1e-6)
    for alpha, ref in [(0.1, 0.0061311393), (1.0, 0.0540318405), (10.0, 0.2599716548)]:
        sim = closed_equilibrium(r, 0.5, 3.0, 2.0, 0.7, 10.0, alpha=alpha)
        check(f"cooperative alpha={alpha} [ABC]", sim["ABC"], ref, rtol=1e-6)


def check_dilute_peak():
    """Closed system, targets 1e-3 nM << K: trimer peaks at total drug ~ sqrt(KD1*KD2)."""
    r = new_rr()
    k1, k2 = 0.7, 5.0
    x = np.geomspace(0.5, 7.0, 29)
    y = np.array([closed_equilibrium(r, 1e-3, xi, 1e-3, k1, k2, t_end=60.0)["ABC"] for xi in x])
    xv, yv = parabola_peak(np.log(x), y)
    check("dilute peak position sqrt(KD1*KD2) (nM)", math.exp(xv), math.sqrt(k1 * k2), rtol=5e-3)
    check("dilute peak height At*Ct/(sqrt K1 + sqrt K2)^2 (nM)", yv, 1e-6 / (math.sqrt(k1) + math.sqrt(k2)) ** 2,
          rtol=5e-3)
    # closed form along the same grid agrees point by point
    cf = np.array([douglass(1e-3, xi, 1e-3, k1, k2)["ABC"] for xi in x])
    check("dilute scan max |sim - closed form| / closed form", float(np.max(np.abs(y / cf - 1))), 0.0, rtol=0,
          atol=1e-6)


def clamped_sbml():
    """The shipped model with tumour free drug D made a boundary species (held at D0)."""
    doc = libsbml.readSBMLFromFile(str(XML))
    doc.getModel().getSpecies("D").setBoundaryCondition(True)
    return libsbml.writeSBMLToString(doc)


def check_clamped_optimum():
    """RECON-v0 with free tumour drug clamped: argmax 1.8811 nM, max ADB 8.657e-3 nM (17.3 % of 4-1BB)."""
    r = new_rr(clamped_sbml())
    x = np.geomspace(1.2, 3.0, 21)
    ys, pct = [], []
    for xi in x:
        set_params(r, {})
        r["[D]"] = xi  # boundary species: set the clamp value directly
        r.timeCourseSelections = ["time", "[ADB]", "pct_trimer"]
        res = np.array(r.simulate(0, 80, 3))[-1]
        ys.append(res[1])
        pct.append(res[2])
    xv, yv = parabola_peak(np.log(x), np.array(ys))
    check("clamped optimum free drug (nM)", math.exp(xv), 1.8811, rtol=1e-3)
    check("clamped max ADB (nM)", yv, 8.657e-3, printed="8.657e-3")
    check("clamped max % 4-1BB in trimer", max(pct), 17.3, printed="17.3")
    # formula of the note (dilute-target approximation): D* = sqrt(KSS1*KSS2*kdegA*kdegB/(kintA*kintB))
    kss1 = (86.4 * 0.7 + 0.5) / 86.4
    kss2 = (86.4 * 5.0 + 1.0) / 86.4
    check("clamped optimum vs formula 1.8807", math.sqrt(kss1 * kss2 * 0.5 * 1.0 / (0.5 * 1.0)), 1.8807, rtol=1e-4)


def infusion_sbml():
    """The shipped model plus a constant zero-order input into Cp at rate R_inf (nmol/day)."""
    doc = libsbml.readSBMLFromFile(str(XML))
    m = doc.getModel()
    p = m.createParameter()
    p.setId("R_inf")
    p.setValue(0.0)
    p.setConstant(True)
    p.setUnits("nmol_per_day")
    u = m.createUnitDefinition()
    u.setId("nmol_per_day")
    for kind, exp, scale, mult in [(libsbml.UNIT_KIND_MOLE, 1, -9, 1.0), (libsbml.UNIT_KIND_SECOND, -1, 0, 86400.0)]:
        unit = u.createUnit()
        unit.setKind(kind)
        unit.setExponent(exp)
        unit.setScale(scale)
        unit.setMultiplier(mult)
    rx = m.createReaction()
    rx.setId("infusion")
    rx.setReversible(False)
    pr = rx.createProduct()
    pr.setSpecies("Cp")
    pr.setStoichiometry(1.0)
    pr.setConstant(True)
    rx.createKineticLaw().setMath(libsbml.parseL3Formula("R_inf"))
    return libsbml.writeSBMLToString(doc)


def check_infusion_optimum():
    """Constant infusion to steady state: the tumour sees a constant free drug, so (D_ss, ADB_ss) lie on the
    clamped curve and the argmax over D_ss is again 1.8811 nM. This is how the qsp test checks it."""
    r = new_rr(infusion_sbml())
    cl, f_t = 30.0, 0.2
    ds, ys = [], []
    for target in np.geomspace(1.2, 3.0, 21):
        set_params(r, {"Q": 0.0, "CL": cl, "R_inf": cl * target / f_t})
        r.timeCourseSelections = ["time", "[D]", "[ADB]"]
        res = np.array(r.simulate(0, 80, 3))[-1]
        ds.append(res[1])
        ys.append(res[2])
    xv, yv = parabola_peak(np.log(ds), np.array(ys))
    check("infusion steady state: optimum free tumour drug (nM)", math.exp(xv), 1.8811, rtol=1e-3)
    check("infusion steady state: max ADB (nM)", yv, 8.657e-3, printed="8.657e-3")


def schropp_sbml():
    """Shipped binding/turnover/internalisation module rewired to Schropp 2019's one-compartment PK.

    Clearance and peripheral exchange act on the binding-compartment drug D (V = 3 L); plasma Cp is unused.
    """
    doc = libsbml.readSBMLFromFile(str(XML))
    m = doc.getModel()
    for rid, law in [("J_clear", "CL * D"), ("J_periph", "Q * (D - Cper)")]:
        rx = m.getReaction(rid)
        rx.getReactant(0).setSpecies("D")
        rx.getKineticLaw().setMath(libsbml.parseL3Formula(law))
    m.getCompartment("tumour").setSize(3.0)
    m.getCompartment("peripheral").setSize(10.0)  # Q / k21 = 0.3 / 0.03
    return libsbml.writeSBMLToString(doc)


SCHROPP = {  # BIOMD0000000788 parameters mapped onto the shipped parameter names
    "k_T": 0.0, "CL": 0.3, "Q": 0.3,  # kel*V, k12*V
    "kon1": 10.0, "kon2": 1.0, "kon3": 1.0, "kon4": 10.0, "KD1": 0.001, "KD2": 0.01, "alpha": 1.0,
    "A0": 10.0, "B0": 100.0, "kdegA": 0.1, "kdegB": 0.1, "kintA": 0.05, "kintB": 0.05, "kintAB": 0.1, "D0": 50.0,
}


def check_schropp():
    r = new_rr(schropp_sbml())
    set_params(r, SCHROPP)
    r.timeCourseSelections = ["time", "[ADB]", "[D]", "[A]", "[B]", "[DA]", "[DB]", "Cper"]
    times = [0, 1, 7, 28, 56, 100, 150]
    res = np.array(r.simulate(times=times))
    table = {
        1: (10.000733, 6.770903e-3, 2.971851e-3, 54.811936, 1.828991e-3, 36.990369, 0.16810731),
        7: (9.9971024, 2.971350e-3, 4.943203e-3, 75.194383, 1.330979e-3, 22.230011, 0.14780670),
        28: (5.4808380, 5.889703e-6, 4.5194177, 96.953427, 5.682993e-4, 1.229763e-3, 0.08199692),
        56: (0.33777875, 1.805079e-6, 9.6622842, 99.810348, 3.560221e-5, 3.683798e-5, 0.03541564),
        100: (5.437461e-3, 4.731887e-7, 9.9945640, 99.996382, 1.016695e-6, 1.017452e-6, 9.467039e-3),
        150: (3.291483e-4, 1.056243e-7, 9.9996708, 99.999683, 1.384964e-7, 1.385037e-7, 2.113966e-3),
    }
    # columns: RC_AB, C_free, R_A, R_B, RC_A, RC_B, AP
    worst = 0.0
    for row in res[1:]:
        ref = table[int(round(row[0]))]
        for j, rv in enumerate(ref):
            worst = max(worst, abs(row[1 + j] / rv - 1))
    check("Schropp 2019 trajectory, worst relative error over 42 values", worst, 0.0, rtol=0, atol=1e-4)
    # trimer peak 10.0011 nM at t ~ 0.26 d
    set_params(r, SCHROPP)
    r.timeCourseSelections = ["time", "[ADB]"]
    fine = np.array(r.simulate(0, 1, 2001))
    i = int(np.argmax(fine[:, 1]))
    check("Schropp trimer peak (nM)", fine[i, 1], 10.0011, printed="10.0011")
    check("Schropp trimer peak time (d)", fine[i, 0], 0.26, printed="0.26")
    # dose-delay: C0 = 500 nM -> max 11.51 nM at 13.6 d
    set_params(r, {**SCHROPP, "D0": 500.0})
    fine = np.array(r.simulate(0, 30, 3001))
    i = int(np.argmax(fine[:, 1]))
    check("Schropp C0=500 trimer max (nM)", fine[i, 1], 11.51, printed="11.51")
    check("Schropp C0=500 time of max (d)", fine[i, 0], 13.6, printed="13.6")
    # product swap of the curated file: with kon3 = 10 (koff3 = 0.1) the correct model keeps RC_AB(7 d) = 9.994
    set_params(r, {**SCHROPP, "kon3": 10.0})
    res = np.array(r.simulate(0, 7, 3))
    check("Schropp kon3=10 RC_AB at 7 d (corrected products)", res[-1, 1], 9.994, printed="9.994")


def window_metrics(r, dose_mg, every, count):
    t_last = every * (count - 1)
    t_end = t_last + every
    times = np.concatenate([[0.0], np.linspace(t_last, t_end, 1401)])
    doses = [(every * k, "Cp", dose_mg * 1e6 / MW) for k in range(count)]
    set_params(r, {})
    d = run(r, t_end, times, doses)
    w = d["time"] >= t_last
    t = d["time"][w]

    def mean(y):
        return np.trapezoid(y[w], t) / (t[-1] - t[0])

    frac = d["[ADB]"] / (d["[B]"] + d["[DB]"] + d["[ADB]"])
    return {"cpmax": d["[Cp]"][w].max(), "cpmin": d["[Cp]"][w].min(), "D": mean(d["[D]"]), "ADB": mean(d["[ADB]"]),
            "frac": mean(frac), "data": d}


def check_regimens():
    r = new_rr()
    q1w = [  # dose mg, Cp_max, Cp_min, mean D, mean ADB, mean fraction  (reference note, section 6.7)
        ("0.3", "1.160", "0.6605", "0.0730", "1.775e-3", "0.0355"),
        ("1", "3.871", "2.206", "0.2769", "4.787e-3", "0.0957"),
        ("3", "11.64", "6.645", "1.084", "8.212e-3", "0.1642"),
        ("10", "38.95", "22.29", "4.795", "7.510e-3", "0.1502"),
        ("30", "117.0", "67.06", "16.11", "4.166e-3", "0.0833"),
        ("100", "390.4", "223.8", "56.03", "1.579e-3", "0.0316"),
        ("1000", "3905", "2239", "569.8", "1.750e-4", "0.0035"),
    ]
    q3w = [
        ("1", "2.187", "0.5215", "0.0821", "1.936e-3", "0.0387"),
        ("3", "6.566", "1.568", "0.2809", "4.687e-3", "0.0937"),
        ("10", "21.92", "5.257", "1.259", "8.140e-3", "0.1628"),
        ("30", "65.86", "15.88", "4.808", "7.534e-3", "0.1507"),
        ("100", "219.8", "53.16", "18.01", "4.048e-3", "0.0810"),
        ("1000", "2199", "532.7", "189.2", "5.575e-4", "0.0112"),
    ]
    for label, table, every, count in [("Q1W", q1w, 7.0, 24), ("Q3W", q3w, 21.0, 8)]:
        for dose, *ref in table:
            m = window_metrics(r, float(dose), every, count)
            for key, rv in zip(["cpmax", "cpmin", "D", "ADB", "frac"], ref):
                check(f"{label} {dose} mg {key}", m[key], None, printed=rv)
            if dose in ("3", "1000"):
                d = m["data"]
                states = np.column_stack([d[k] for k in ("Cp", "Cper", "D", "DA", "DB", "ADB")])
                check(f"{label} {dose} mg min state (non-negative)", min(0.0, states.min()), 0.0, rtol=0,
                      atol=1e-12)


def golden_max(f, lo, hi, tol=1e-4):
    """Maximise a unimodal f on [lo, hi] (log scale) by golden-section search; returns (x, f(x))."""
    g = (math.sqrt(5) - 1) / 2
    a, b = math.log(lo), math.log(hi)
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(math.exp(c)), f(math.exp(d))
    while b - a > tol:
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(math.exp(d))
    x = math.exp((a + b) / 2)
    return x, f(x)


def check_optimal_doses():
    """Dose that maximises the mean trimer over the last interval: 4.65 mg Q1W and 14.8 mg Q3W (printed to 3 s.f.)."""
    r = new_rr()
    for label, every, count, ref in [
        ("Q1W", 7.0, 24, ("4.65", "8.637e-3", "0.173", "1.895", "10.3", "18.1")),
        ("Q3W", 21.0, 8, ("14.8", "8.445e-3", "0.169", "2.055", "7.8", "32.4")),
    ]:
        dose, _ = golden_max(lambda x: window_metrics(r, x, every, count)["ADB"], 1.0, 50.0)
        m = window_metrics(r, dose, every, count)
        check(f"{label} optimal dose (mg)", dose, None, printed=ref[0])
        check(f"{label} optimal mean ADB (nM)", m["ADB"], None, printed=ref[1])
        check(f"{label} optimal mean fraction of 4-1BB in trimer", m["frac"], None, printed=ref[2])
        check(f"{label} optimal mean free tumour drug (nM)", m["D"], None, printed=ref[3])
        check(f"{label} optimal Cp_min (nM)", m["cpmin"], None, printed=ref[4])
        check(f"{label} optimal Cp_max (nM)", m["cpmax"], None, printed=ref[5])


def check_conservation():
    """Turnover and internalisation off, PK on: FAP and 4-1BB totals stay at A0 and B0; drug mass is conserved
    when clearance is off as well."""
    r = new_rr()
    set_params(r, {"kdegA": 0.0, "kdegB": 0.0, "kintA": 0.0, "kintB": 0.0, "kintAB": 0.0, "CL": 0.0})
    times = np.linspace(0, 56, 561)
    doses = [(7.0 * k, "Cp", 10.0 * 5.0) for k in range(4)]
    d = run(r, 56.0, times, doses)
    check("closed receptors: max |FAP_tot/A0 - 1|", float(np.max(np.abs(d["FAP_tot"] / 2.0 - 1))), 0.0, rtol=0,
          atol=1e-9)
    check("closed receptors: max |41BB_tot/B0 - 1|", float(np.max(np.abs(d["R41BB_tot"] / 0.05 - 1))), 0.0,
          rtol=0, atol=1e-9)
    amount = d["Cp"] + d["Cper"] + d["D"] + d["DA"] + d["DB"] + d["ADB"]
    given = np.array([50.0 * np.sum(np.array([0, 7, 14, 21]) <= t) for t in d["time"]])
    check("no clearance: drug amount equals doses given", float(np.max(np.abs(amount - given) / given)), 0.0,
          rtol=0, atol=1e-8)


def check_untreated():
    r = new_rr()
    set_params(r, {})
    r.timeCourseSelections = ["time", "[A]", "[B]", "[ADB]", "[Cp]"]
    res = np.array(r.simulate(0, 100, 11))
    check("untreated A stays A0", float(np.max(np.abs(res[:, 1] - 2.0))), 0.0, rtol=0, atol=1e-12)
    check("untreated B stays B0", float(np.max(np.abs(res[:, 2] - 0.05))), 0.0, rtol=0, atol=1e-14)
    check("untreated trimer stays 0", float(np.max(np.abs(res[:, 3]))), 0.0, rtol=0, atol=0)


def check_ant_vs_xml():
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyFile(str(ANT)) >= 0, antimony.getLastError()
    r1 = new_rr(antimony.getSBMLString("trimeric"))
    r2 = new_rr()
    out = []
    for r in (r1, r2):
        d = run(r, 28.0, np.linspace(0, 28, 57), [(0.0, "Cp", 25.0), (14.0, "Cp", 25.0)])
        out.append(np.column_stack([d["[Cp]"], d["[D]"], d["[ADB]"], d["[A]"]]))
    check(".ant vs .xml max relative difference", float(np.max(np.abs(out[0] - out[1]) / (np.abs(out[1]) + 1e-12))),
          0.0, rtol=0, atol=1e-9)


def main() -> int:
    for fn in (check_consistency, check_ant_vs_xml, check_untreated, check_conservation, check_douglass,
               check_dilute_peak, check_clamped_optimum, check_infusion_optimum, check_schropp, check_regimens, check_optimal_doses):
        print(f"--- {fn.__name__}")
        fn()
    print(f"\n{len(FAILURES)} failure(s)" + (": " + ", ".join(FAILURES) if FAILURES else ""))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
