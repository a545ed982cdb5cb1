"""Standalone check of the shipped ``cd3_crs`` model with plain libRoadRunner (no qsp import).

Run::

    python tests/models/_raw_check_cd3_crs.py

It checks the same numbers as ``test_cd3_crs.py``: the reference outputs of the Weddell-like surrogate
(docs/models/cd3_crs.md, table "W-S reference outputs"), the Chen 2019 priming peaks, physical sanity, the
agreement of the .ant and .xml files and libSBML consistency. Doses are applied the way qsp applies them:
integration stops at the dose time, a bolus is added with ``setValue`` and integration restarts; a zero-order
infusion is a rate parameter feeding a reaction ``-> D_c`` that is switched on and off at the same stops.
Exit status 0 when every check passes.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import antimony
import libsbml
import numpy as np
import roadrunner

ROOT = Path(__file__).resolve().parents[2]
XML = ROOT / "sbml_models" / "cd3_crs.xml"
ANT = ROOT / "sbml_models" / "cd3_crs.ant"
META = json.loads((ROOT / "sbml_models" / "cd3_crs.json").read_text())

T_INF = 1.0 / 3.0  # h, tebentafusp infusion
WEEK = 168.0  # h
DT = 0.01  # h, output grid for peak finding
CYTOKINES = ["IL6", "IFNg", "TNFa", "IL2", "IL10"]

# W-S reference outputs: (regimen, dose index) -> (C_pl max ng/mL, {cytokine: peak pg/mL}, IL-6 peak time h,
# responsive fraction tumour, healthy at the start of the dose). None where the reference gives no number.
WS_REF = {
    ("stepup", 1): (3.79, {"IL6": 63.0, "IFNg": 42.0, "TNFa": 10.2, "IL2": 6.2, "IL10": 74.2}, 6.3, 1.000, 1.000),
    ("stepup", 2): (5.69, {"IL6": 26.2, "IFNg": 17.5, "TNFa": 7.0, "IL2": 3.0, "IL10": 30.9}, 6.6, 0.217, 0.420),
    ("stepup", 3): (12.90, {"IL6": 29.3, "IFNg": 19.5, "TNFa": 7.3, "IL2": 3.3, "IL10": 34.0}, 6.0, 0.187, 0.362),
    ("stepup", 4): (12.92, {"IL6": 24.3, "IFNg": 16.2, "TNFa": 6.9, "IL2": 2.9, "IL10": 28.2}, 6.1, 0.132, 0.298),
    ("flat", 1): (12.88, {"IL6": 89.5, "IFNg": 59.7, "TNFa": 12.7, "IL2": 8.7, "IL10": 103.3}, 5.6, 1.000, 1.000),
    ("flat", 2): (12.92, {"IL6": 24.3, "IFNg": 16.2, "TNFa": 6.9, "IL2": 2.9, "IL10": 28.2}, 6.1, 0.132, 0.298),
    ("flat", 3): (12.92, {"IL6": 24.3, "IFNg": 16.2, "TNFa": 6.9, "IL2": 2.9, "IL10": 28.2}, 6.1, 0.132, 0.298),
    ("flat", 4): (12.92, {"IL6": 24.3, "IFNg": 16.2, "TNFa": 6.9, "IL2": 2.9, "IL10": 28.2}, 6.1, 0.132, 0.298),
    ("no_healthy", 1): (12.88, {"IL6": 39.3, "IFNg": 26.2, "TNFa": 8.3, "IL2": 4.3, "IL10": 43.8}, 4.9, 1.000, None),
    ("no_healthy", 2): (12.92, {"IL6": 8.4, "IFNg": 5.6, "TNFa": 5.5, "IL2": 1.5, "IL10": 9.3}, 5.0, 0.132, None),
}
WS_DOSES = {
    "stepup": [20.0, 30.0, 68.0, 68.0],
    "flat": [68.0] * 4,
    "no_healthy": [68.0] * 4,
}
# Chen 2019 priming module: regimen -> list of (dose ug, time h); reference (peak pg/mL, time from dose h) per dose.
CHEN = {
    "primed": ([(60.0, 0.0), (300.0, WEEK)], {}, [(118.8, 4.47), (25.7, 15.5)]),
    "single": ([(300.0, 0.0)], {}, [(333.0, 3.1)]),
    "no_priming": ([(60.0, 0.0), (300.0, WEEK)], {"chen_priming": 0}, [(118.8, 4.47), (65.8, 14.0)]),
}
VALUE_RTOL = 0.01  # 1 % on reference values (the reference tables are rounded to 3 significant figures)
TIME_ATOL = 0.1  # h on peak times (reference times are rounded to 0.1 h)

FAILURES: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        FAILURES.append(what)


def close(x: float, ref: float, rtol: float = VALUE_RTOL, atol: float = 0.05) -> bool:
    """Within ``rtol`` of the reference, or within half a unit of its last printed digit (``atol``)."""
    return abs(x - ref) <= max(rtol * abs(ref), atol)


def with_infusion_port(sbml: str, target: str) -> str:
    """Add a rate parameter ``R_inf`` and a reaction ``-> target`` at that rate (what qsp does for infusions)."""
    doc = libsbml.readSBMLFromString(sbml)
    model = doc.getModel()
    p = model.createParameter()
    p.setId("R_inf")
    p.setValue(0.0)
    p.setConstant(False)
    r = model.createReaction()
    r.setId("J_inf")
    r.setReversible(False)
    prod = r.createProduct()
    prod.setSpecies(target)
    prod.setStoichiometry(1.0)
    prod.setConstant(True)
    r.createKineticLaw().setMath(libsbml.parseL3Formula("R_inf"))
    return libsbml.writeSBMLToString(doc)


def ug_to_nmol(ug: float, target: str) -> float:
    mw = next(d["molecular_weight"] for d in META["drugs"] if d["target"] == target)
    return ug * 1e-6 / mw * 1e9


def run(sbml: str, t_end: float, selections: list[str], *, boluses=(), infusions=(), params=None,
        dt: float = DT) -> dict[str, np.ndarray]:
    """Simulate with stops at every dose instant.

    boluses: (time, species, amount in model units); infusions: (start, duration, rate) into ``R_inf``.
    """
    rr = roadrunner.RoadRunner(sbml)
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    for key, value in (params or {}).items():
        rr.setValue(f"init({key})", value)
    rr.resetAll()
    rr.timeCourseSelections = ["time"] + selections
    stops = {0.0, float(t_end)}
    stops |= {float(t) for t, _, _ in boluses}
    for t0, dur, _ in infusions:
        stops |= {float(t0), float(t0 + dur)}
    stops = sorted(s for s in stops if s <= t_end)
    chunks = []
    for a, b in zip(stops[:-1], stops[1:]):
        for t, species, amount in boluses:
            if t == a:
                rr.setValue(species, rr.getValue(species) + amount)
        if infusions:
            rr.setValue("R_inf", sum(rate for t0, dur, rate in infusions if t0 <= a < t0 + dur))
        n = max(2, int(round((b - a) / dt)) + 1)
        out = np.array(rr.simulate(a, b, n))
        chunks.append(out if not chunks else out[1:])
    data = np.vstack(chunks)
    return {name: data[:, i] for i, name in enumerate(["time"] + selections)}


def ws_run(regimen: str, t_end: float = 4 * WEEK) -> dict[str, np.ndarray]:
    sbml = with_infusion_port(XML.read_text(), "D_c")
    infusions = [(i * WEEK, T_INF, ug_to_nmol(ug, "D_c") / T_INF) for i, ug in enumerate(WS_DOSES[regimen])]
    params = {"T_hlt0": 0.0} if regimen == "no_healthy" else {}
    sel = ["C_pl_ngml", "frac_resp_tum", "frac_resp_hlt"] + [f"[{c}]" for c in CYTOKINES] + [
        "Tn_tum", "Ta_tum", "Td_tum", "Tn_hlt", "Ta_hlt", "Td_hlt"]
    return run(sbml, t_end, sel, infusions=infusions, params=params)


def dose_window(t: np.ndarray, k: int) -> np.ndarray:
    return (t >= (k - 1) * WEEK) & (t < k * WEEK)


def check_ws() -> None:
    print("-- W-S reference outputs (peaks per dose window, times from infusion start)")
    for regimen in ("stepup", "flat", "no_healthy"):
        res = ws_run(regimen)
        t = res["time"]
        for k in range(1, 5):
            ref = WS_REF.get((regimen, k)) or WS_REF[(regimen, 2)]
            cmax_ref, peaks_ref, t_il6_ref, f_tum_ref, f_hlt_ref = ref
            w = dose_window(t, k)
            tw = t[w] - (k - 1) * WEEK
            cmax = res["C_pl_ngml"][w].max()
            check(close(cmax, cmax_ref, atol=0.005), f"{regimen} dose {k}: C_pl max {cmax:.3f} ng/mL vs {cmax_ref}")
            for c, pref in peaks_ref.items():
                y = res[f"[{c}]"][w]
                check(close(y.max(), pref), f"{regimen} dose {k}: {c} peak {y.max():.2f} pg/mL vs {pref}")
            i6 = int(np.argmax(res["[IL6]"][w]))
            check(abs(tw[i6] - t_il6_ref) <= TIME_ATOL, f"{regimen} dose {k}: IL-6 peak time {tw[i6]:.2f} h vs {t_il6_ref}")
            i0 = int(np.searchsorted(t, (k - 1) * WEEK))
            check(abs(res["frac_resp_tum"][i0] - f_tum_ref) <= 0.0015,
                  f"{regimen} dose {k}: responsive fraction tumour {res['frac_resp_tum'][i0]:.4f} vs {f_tum_ref}")
            if f_hlt_ref is not None:
                check(abs(res["frac_resp_hlt"][i0] - f_hlt_ref) <= 0.0015,
                      f"{regimen} dose {k}: responsive fraction healthy {res['frac_resp_hlt'][i0]:.4f} vs {f_hlt_ref}")
        if regimen == "stepup":
            step = res
        elif regimen == "flat":
            flat = res
        else:
            nohl = res
    print("-- W-S qualitative properties")
    t = step["time"]
    first_flat = flat["[IL6]"][dose_window(t, 1)].max()
    worst_step = step["[IL6]"].max()
    check(worst_step < first_flat and close(first_flat / worst_step, 1.42),
          f"(i) worst step-up IL-6 peak {worst_step:.1f} < flat first peak {first_flat:.1f} (ratio {first_flat / worst_step:.3f} vs 1.42)")
    for res, name in ((step, "step-up"), (flat, "flat")):
        first = res["[IL6]"][dose_window(t, 1)].max()
        ratios = [first / res["[IL6]"][dose_window(t, k)].max() for k in (2, 3, 4)]
        check(all(2.1 <= r <= 3.8 for r in ratios), f"(ii) {name}: first / later IL-6 peaks {np.round(ratios, 2)} in 2.2-3.7")
    for res, name in ((step, "step-up"), (flat, "flat"), (nohl, "no healthy target")):
        times = [t[dose_window(t, k)][np.argmax(res["[IL6]"][dose_window(t, k)])] - (k - 1) * WEEK for k in range(1, 5)]
        check(all(4.0 <= x <= 8.0 for x in times), f"(iii) {name}: IL-6 peak times {np.round(times, 2)} h within 4-8 h")
    ratio = first_flat / nohl["[IL6]"][dose_window(t, 1)].max()
    check(close(ratio, 2.28, rtol=0.02), f"(iv) healthy-target removal lowers the first IL-6 peak {ratio:.2f}-fold (vs 2.3)")
    cmaxes = [res["C_pl_ngml"][dose_window(t, k)].max() for res in (step, flat) for k in range(1, 5)]
    check(3.7 <= min(cmaxes) and max(cmaxes) <= 13.7, f"(v) plasma Cmax {min(cmaxes):.2f}-{max(cmaxes):.2f} ng/mL near the label 4.2-13.7")

    print("-- W-S physical sanity")
    states = ["Tn_tum", "Ta_tum", "Td_tum", "Tn_hlt", "Ta_hlt", "Td_hlt"]
    neg = min(min(res[s].min() for s in states) for res in (step, flat, nohl))
    check(neg >= -1e-3, f"T-cell states non-negative (min {neg:.2e} cells)")
    cmin = min(res[f"[{c}]"].min() for res in (step, flat) for c in CYTOKINES)
    check(cmin > 0, f"cytokines positive (min {cmin:.3f} pg/mL)")
    for res in (step, flat):
        tum = res["Tn_tum"] + res["Ta_tum"] + res["Td_tum"]
        hlt = res["Tn_hlt"] + res["Ta_hlt"] + res["Td_hlt"]
        check(np.max(np.abs(tum / 1e9 - 1)) < 1e-6 and np.max(np.abs(hlt / 2e9 - 1)) < 1e-6,
              "T-cell pools conserved (N + A + D = T0 in each tissue)")


def check_chen() -> None:
    print("-- Chen 2019 priming module (IV boluses into Dchen_c)")
    peaks = {}
    for name, (doses, extra, refs) in CHEN.items():
        params = {"chen_ndose": len(doses), "chen_tau": WEEK, **extra}
        res = run(XML.read_text(), 2 * WEEK, ["[IL6_chen]", "n_chen", "AUC_chen"],
                  boluses=[(t, "Dchen_c", ug_to_nmol(ug, "Dchen_c")) for ug, t in doses], params=params, dt=0.005)
        t, y = res["time"], res["[IL6_chen]"]
        for k, (ref_peak, ref_t) in enumerate(refs, start=1):
            w = dose_window(t, k)
            i = int(np.argmax(y[w]))
            peak, tp = y[w][i], t[w][i] - (k - 1) * WEEK
            peaks[(name, k)] = peak
            check(close(peak, ref_peak, rtol=0.002), f"{name} dose {k}: peak {peak:.2f} pg/mL vs {ref_peak}")
            check(abs(tp - ref_t) <= TIME_ATOL, f"{name} dose {k}: peak time {tp:.2f} h vs {ref_t}")
        check(res["n_chen"][-1] == len(doses), f"{name}: dose index ends at {res['n_chen'][-1]:.0f}")
    # 300 ug twice: no new peak after the second dose; IL-6 = 18.4 pg/mL when it is given
    res = run(XML.read_text(), 2 * WEEK, ["[IL6_chen]"],
              boluses=[(t, "Dchen_c", ug_to_nmol(300.0, "Dchen_c")) for t in (0.0, WEEK)],
              params={"chen_ndose": 2, "chen_tau": WEEK}, dt=0.005)
    t, y = res["time"], res["[IL6_chen]"]
    w2 = dose_window(t, 2)
    check(close(y[w2][0], 18.4), f"300+300: IL-6 at the second dose {y[w2][0]:.2f} pg/mL vs 18.4")
    check(bool(np.all(np.diff(y[w2]) <= 1e-9)), "300+300: no new peak after the second dose (IL-6 only falls)")
    r1 = peaks[("single", 1)] / peaks[("primed", 1)]
    r2 = peaks[("single", 1)] / peaks[("primed", 2)]
    r3 = peaks[("no_priming", 2)] / peaks[("primed", 2)]
    check(close(r1, 2.8, rtol=0.01), f"step-up lowers the worst peak {r1:.2f}-fold (vs 2.8)")
    check(close(r2, 13.0, rtol=0.01), f"primed 300 ug peaks {r2:.2f}-fold below a first 300 ug dose (vs 13)")
    check(close(r3, 2.6, rtol=0.02), f"the priming factor alone lowers the second peak {r3:.2f}-fold (vs 2.6)")


def check_untreated() -> None:
    print("-- untreated steady state")
    res = run(XML.read_text(), 4 * WEEK, ["[IL6]", "[IFNg]", "[TNFa]", "[IL2]", "[IL10]", "[IL6_chen]",
                                          "Tn_tum", "Tn_hlt", "Ta_total"], dt=1.0)
    base = {"[IL6]": 3.0, "[IFNg]": 2.0, "[TNFa]": 5.0, "[IL2]": 1.0, "[IL10]": 3.0, "[IL6_chen]": 0.0,
            "Tn_tum": 1e9, "Tn_hlt": 2e9, "Ta_total": 0.0}
    ok = all(np.allclose(res[k], v, rtol=1e-9, atol=1e-9) for k, v in base.items())
    check(ok, "untreated: cytokines at baseline, all T cells responsive, nothing activated")


def check_files() -> None:
    print("-- files")
    doc = libsbml.readSBMLFromFile(str(XML))
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    n_err = sum(1 for i in range(doc.getNumErrors()) if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR)
    n_warn = doc.getNumErrors() - n_err
    check(n_err == 0, f"libSBML consistency (units on): {n_err} errors, {n_warn} warnings")
    check(doc.getLevel() == 3 and doc.getVersion() == 2, "SBML Level 3 Version 2")
    spec = importlib.util.spec_from_file_location("build_cd3_crs", ROOT / "sbml_models" / "build_cd3_crs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    check(mod.build() == XML.read_text(encoding="utf-8"), "XML is byte-identical to a fresh build from the .ant")
    mw_sbml = doc.getModel().getParameter("MW").getValue() * 1000
    mw_chen = doc.getModel().getParameter("MW_chen").getValue() * 1000
    meta_mw = {d["target"]: d["molecular_weight"] for d in META["drugs"]}
    check(meta_mw == {"D_c": mw_sbml, "Dchen_c": mw_chen}, "metadata molecular weights equal the SBML MW, MW_chen")
    antimony.clearPreviousLoads()
    antimony.loadAntimonyFile(str(ANT))
    ant_sbml = antimony.getSBMLString("cd3_crs")
    sel = ["[IL6]", "[IL10]", "C_pl_ngml", "Tn_hlt"]
    infusions = [(i * WEEK, T_INF, ug_to_nmol(68.0, "D_c") / T_INF) for i in range(2)]
    a = run(with_infusion_port(ant_sbml, "D_c"), 2 * WEEK, sel, infusions=infusions, dt=0.5)
    b = run(with_infusion_port(XML.read_text(), "D_c"), 2 * WEEK, sel, infusions=infusions, dt=0.5)
    check(all(np.allclose(a[s], b[s], rtol=1e-8, atol=1e-10) for s in sel), ".ant and .xml simulate identically")


def main() -> int:
    check_files()
    check_untreated()
    check_ws()
    check_chen()
    print(f"\n{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
