"""Every number docs/dosing.md states, checked against a simulation and a closed form.

Each check first asserts that the doc states the number as quoted here, so the doc and
these tests cannot drift apart silently.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import qsp
from qsp import metrics
from qsp.units import AVOGADRO, substance_unit, to_model_amount

DOC = (Path(__file__).resolve().parents[1] / "docs" / "dosing.md").read_text()
BIOMODELS = Path(__file__).resolve().parents[2] / "shared" / "references" / "biomodels"

# The doc's PK model: amount of A in umol, V = 10 L, k = 0.2/h, time in hours.
K, V = 0.2, 10.0
PK = re.search(r'PK = """(.*?)"""', DOC, re.S).group(1)


def stated(*texts: str) -> None:
    for text in texts:
        assert text in DOC, f"docs/dosing.md no longer says {text!r}"


@pytest.fixture(scope="module")
def pk():
    return qsp.Model.from_antimony(PK)


def infusion_amount(t: float, pieces: list[tuple[float, float, float]], a0: float = 0.0) -> float:
    """A(t) for dA/dt = R(t) - k A, R a sum of constant rates on [start, stop) (closed form per piece)."""
    edges = sorted({0.0, t, *[p[0] for p in pieces], *[p[1] for p in pieces]})
    a = a0
    for lo, hi in zip(edges, edges[1:]):
        if hi > t:
            break
        rate = sum(r for start, stop, r in pieces if start <= lo < stop)
        a = a * math.exp(-K * (hi - lo)) + rate / K * (1 - math.exp(-K * (hi - lo)))
    return a


def test_dose_examples_at_the_top():
    stated('qsp.Dose("Cp", 3, unit="mg", every=7, count=4)                # 3 mg once a week, 4 doses',
           "duration=1 / 24, every=21, count=8)   # 1-hour infusion every 3 weeks (time in days)")
    once = qsp.Dose("Cp", 3, unit="mg")
    assert once.times().tolist() == [0.0] and not once.is_infusion
    assert qsp.Dose("Cp", 3, unit="mg", every=7, count=4).times().tolist() == [0, 7, 14, 21]
    q3w = qsp.Dose("Cp", 5, unit="mg/kg", duration=1 / 24, every=21, count=8)
    assert q3w.times().tolist() == [21.0 * i for i in range(8)] and q3w.duration * 24 == pytest.approx(1)


def test_field_defaults_and_repeat():
    stated("| `time` | `0` |", "| `count` | `1` |", "`repeat=2` is `count=3`")
    d = qsp.Dose("A", 1)
    assert d.time == 0 and d.count == 1 and d.every is None and d.duration is None and d.unit is None
    assert qsp.Dose("A", 1, every=2, repeat=2).count == 3


def test_step_up_regimen_times():
    stated('qsp.Dose("Cp", 0.5, unit="mg", time=0)', 'qsp.Dose("Cp", 2, unit="mg", time=3)',
           'qsp.Dose("Cp", 10, unit="mg", time=7, every=7, count=3)')
    doses = [qsp.Dose("Cp", 0.5, unit="mg", time=0), qsp.Dose("Cp", 2, unit="mg", time=3),
             qsp.Dose("Cp", 10, unit="mg", time=7, every=7, count=3)]
    assert [d.times().tolist() for d in doses] == [[0], [3], [7, 14, 21]]


def test_infusion_inputs_and_fresh_ids():
    stated("`qsp_rate_<species>` (value 0)", "qsp appends `_2`, `_3`")
    pk = qsp.Model.from_antimony(PK)
    assert pk._infusion == {"A": "qsp_rate_A"}
    assert pk._rr.getValue("qsp_rate_A") == 0
    taken = PK.replace("  k = 0.2 per_hour", "  k = 0.2 per_hour\n  qsp_rate_A = 7\n  qsp_rate_A_2 = 8")
    m = qsp.Model.from_antimony(taken)
    assert m._infusion == {"A": "qsp_rate_A_3"}
    assert "qsp_rate_A" in m.parameters.index and "qsp_rate_A_3" not in m.parameters.index
    res = m.simulate(times=[0, 2], outputs=["A", "qsp_rate_A"], doses=qsp.Dose("A", 1, duration=2),
                     rtol=1e-10, atol=1e-14)
    assert res["A"][-1] == pytest.approx(infusion_amount(2, [(0, 2, 0.5)]), rel=1e-7)
    assert res["qsp_rate_A"].tolist() == [7, 7]


def test_trough_example(pk):
    stated("[100.  9.09  109.07  109.89]", "# 9.09, the value at t = 11.99", "100 umol at t = 0, 12 and 24 h")
    res = pk.simulate(times=[0, 11.99, 12, 24], outputs=["A"], doses=qsp.Dose("A", 100, every=12, count=3))
    e12, e24 = math.exp(-K * 12), math.exp(-K * 24)
    truth = [100, 100 * math.exp(-K * 11.99), 100 * (1 + e12), 100 * (1 + e12 + e24)]
    assert res["A"] == pytest.approx(truth, rel=1e-5)
    assert np.round(res["A"], 2).tolist() == [100.0, 9.09, 109.07, 109.89]
    assert round(metrics.trough(res.time, res["A"], 12), 2) == 9.09


def test_pk_model_as_described(pk):
    stated("amount of A in umol, volume 10 L, k = 0.2/h, time in hours")
    assert pk.time_unit == "hour"
    assert pk.species.loc["A", "units"] == "umol/L" and pk.compartments.loc["V", "value"] == V
    assert pk.parameters.loc["k", "value"] == K and pk.parameters.loc["k", "units"] == "1/h"


def test_worked_example_bolus(pk):
    stated("2 mg/kg × 70 kg = 140 mg = 0.14 g", "0.14 g / 140,000 g/mol = 1e-6 mol = 1 µmol",
           "1 µmol / 10 L = 0.1 µM, then [A](t) = 0.1 · e^(−0.2 t)", "# 1.0 0.1",
           "# [0.06703 0.009072] twice", "{'A': 'umol', '[A]': 'umol/L'}")
    umol = substance_unit(pk._doc.getModel(), "A")
    assert to_model_amount(2, "mg/kg", umol, molecular_weight=140_000, body_weight=70, species="A") \
        == pytest.approx(140e-3 / 140_000 / 1e-6)
    res = pk.simulate(times=[0, 2, 12], outputs=["A", "[A]"], doses=qsp.Dose("A", 2, unit="mg/kg",
                      molecular_weight=140_000), body_weight=70, rtol=1e-10, atol=1e-14)
    assert res["A"][0] == pytest.approx(1.0) and res["[A]"][0] == pytest.approx(0.1)
    assert res["[A]"][1:] == pytest.approx(0.1 * np.exp(-K * np.array([2, 12])), rel=1e-8)
    assert [float(f"{v:.4g}") for v in res["[A]"][1:]] == [0.06703, 0.009072]
    assert res.units == {"A": "umol", "[A]": "umol/L"}


def test_worked_example_infusion(pk):
    stated("1 µmol / 2 h = 0.5 µmol/h", "A(2) = 2.5 · (1 − e^(−0.4)) = 0.8242 µmol",
           "# [0.  0.4532  0.8242  0.1115]", "# 0.8242 0.1115")
    res = pk.simulate(times=[0, 1, 2, 12], outputs=["A"], doses=qsp.Dose("A", 2, unit="mg/kg",
                      molecular_weight=140_000, duration=2), body_weight=70, rtol=1e-10, atol=1e-14)
    truth = [infusion_amount(t, [(0, 2, 0.5)]) for t in (0, 1, 2, 12)]
    assert res["A"] == pytest.approx(truth, rel=1e-7, abs=1e-12)
    assert truth[2] == pytest.approx(2.5 * (1 - math.exp(-0.4)))
    assert np.round(res["A"], 4).tolist() == [0.0, 0.4532, 0.8242, 0.1115]


def test_overlapping_infusions(pk):
    stated("40 µmol over 0–4 h (10 µmol/h) and 20 µmol over 1–3 h (another 10 µmol/h)",
           "give 10 µmol/h, then 20 µmol/h from 1 h to 3 h, then 10 µmol/h until 4 h",
           "# [ 0.  9.063  25.55  39.04  41.03]", "# 9.063: A(1) with 10 umol/h alone")
    doses = [qsp.Dose("A", 40, duration=4), qsp.Dose("A", 20, time=1, duration=2)]
    res = pk.simulate(times=[0, 1, 2, 3, 4], outputs=["A"], doses=doses, rtol=1e-10, atol=1e-14)
    truth = [infusion_amount(t, [(0, 4, 10.0), (1, 3, 10.0)]) for t in range(5)]
    assert res["A"] == pytest.approx(truth, rel=1e-7, abs=1e-12)
    assert [float(f"{v:.4g}") for v in res["A"]] == [0.0, 9.063, 25.55, 39.04, 41.03]
    assert truth[1] == pytest.approx(50 * (1 - math.exp(-0.2)))


def test_trimeric_metadata_and_doses():
    stated("(substance units nmol, central volume 3 L), with a molecular weight\nof 200,000 g/mol and a body "
           "weight of 70 kg", "# 70.0 nmol and 23.33 nM: 0.2 mg/kg x 70 kg = 14 mg = 70 nmol",
           "# 50.0: 10 mg = 50 nmol", "In `trimeric`\nthe time unit is the day")
    m = qsp.load_model("trimeric")
    assert m.time_unit == "day"
    assert m.species.loc["Cp", "compartment"] == "central" and m.compartments.loc["central", "value"] == 3
    assert substance_unit(m._doc.getModel(), "Cp").factor == pytest.approx(1e-9)
    drug = next(d for d in m.metadata["drugs"] if d["target"] == "Cp")
    assert drug["molecular_weight"] == 200_000 and m.metadata["body_weight"] == 70
    res = m.simulate(times=[0, 1], outputs=["Cp", "[Cp]"], doses=qsp.Dose("Cp", 0.2, unit="mg/kg"))
    nmol = 0.2e-3 * 70 / 200_000 / 1e-9
    assert nmol == pytest.approx(70) and res["Cp"][0] == pytest.approx(nmol)
    assert res["[Cp]"][0] == pytest.approx(nmol / 3) and round(res["[Cp]"][0], 2) == 23.33
    assert res.units["Cp"] == "nmol" and res.units["[Cp]"] == "nmol/L"
    res = m.simulate(times=[0, 1], outputs=["Cp"], doses=qsp.Dose("Cp", 0.2, unit="mg/kg"), body_weight=50)
    assert res["Cp"][0] == pytest.approx(0.2e-3 * 50 / 200_000 / 1e-9) == pytest.approx(50)


def test_items_and_avogadro():
    stated("Avogadro constant, 6.02214076e23 per mol", "1 pmol becomes 6.022e11 items", "# 602214076000.0")
    assert AVOGADRO == 6.02214076e23
    cells = qsp.Model.from_antimony("model m\n unit substance = item\n compartment C = 1\n species S in C = 0\n"
                                    " S => ; 0.1 * S\nend")
    got = cells.simulate(times=[0, 1], outputs=["S"], doses=qsp.Dose("S", 1, unit="pmol"))["S"][0]
    assert got == pytest.approx(1e-12 * AVOGADRO) and f"{got:.4g}" == "6.022e+11"


def test_level2_substance_redefinition():
    """The doc's claim: a Level 2 model's redefined `substance` is honoured, not taken as mole."""
    stated("`BIOMD0000000321` makes it nanomole, `BIOMD0000000019` item", "`1e-9 mole` is nmol")
    if not BIOMODELS.is_dir():
        pytest.skip("BioModels reference files not found")
    m = qsp.Model.from_file(BIOMODELS / "BIOMD0000000321.xml")
    unit = substance_unit(m._doc.getModel(), "A_dopa")
    assert (unit.dimension, unit.factor) == ("mole", pytest.approx(1e-9))
    res = m.simulate(times=[0, 1], outputs=["A_dopa"], doses=qsp.Dose("A_dopa", 2, unit="umol"))
    assert res["A_dopa"][0] - m.simulate(times=[0, 1], outputs=["A_dopa"])["A_dopa"][0] == pytest.approx(2000)
    assert res.units["A_dopa"] == "nmol"
    items = qsp.Model.from_file(BIOMODELS / "BIOMD0000000019.xml")
    assert substance_unit(items._doc.getModel(), items.dose_targets[0]).dimension == "item"


# ----------------------------------------------------------------------------- the error table
_BOUNDARY = "model m\n compartment C = 1; species S in C = 1; species $Y in C = 1; S -> ; 0.1*S\nend"


def _pk(text=PK):
    return qsp.Model.from_antimony(text)


TRIGGERS = {
    "negative amount": lambda: qsp.Dose("Cp", -5),
    "amount not a number": lambda: qsp.Dose("Cp", "5"),
    "NaN or infinite field": lambda: qsp.Dose("Cp", float("nan")),
    "negative time": lambda: qsp.Dose("Cp", 1, time=-2),
    "`count > 1` without `every`": lambda: qsp.Dose("Cp", 1, count=3),
    "bad `count`": lambda: qsp.Dose("Cp", 1, count=0),
    "`every`, `duration` or `molecular_weight` of 0 or less": lambda: qsp.Dose("Cp", 1, duration=0),
    "unknown unit": lambda: qsp.Dose("Cp", 1, unit="furlongs"),
    "unknown key in `Dose.from_dict`": lambda: qsp.Dose.from_dict({"target": "Cp", "amount": 1, "colour": 1}),
    "something other than `Dose` in `doses`": lambda: _pk().simulate(1, doses=[{"target": "A"}]),
    "unknown target (`UnknownIdError`)": lambda: qsp.load_model("trimeric").simulate(1, doses=qsp.Dose("Cpp", 1)),
    "boundary or constant target": lambda: _pk(_BOUNDARY).simulate(1, doses=qsp.Dose("Y", 1)),
    "target set by an assignment rule": lambda: _pk("model m\n species S = 1; species T; T := 2*S\nend").simulate(
        1, doses=qsp.Dose("T", 1)),
    "infusion into a species with a rule or conversion factor": lambda: _pk(
        "model m\n species B = 1; B' = 0.1\nend").simulate(1, doses=qsp.Dose("B", 1, duration=1)),
    "mass dose, no molecular weight": lambda: _pk().simulate(1, doses=qsp.Dose("A", 1, unit="mg")),
    "mole dose into mass units, no molecular weight": lambda: _pk(
        "model m\n unit substance = 1e-3 gram\n compartment C = 1; species X in C = 0; X -> ; 0.1*X\nend").simulate(
        1, doses=qsp.Dose("X", 1, unit="nmol")),
    "per-kg dose, no body weight": lambda: _pk().simulate(1, doses=qsp.Dose("A", 1, unit="mg/kg",
                                                                            molecular_weight=1e5)),
    "bad `body_weight`": lambda: _pk().simulate(1, doses=qsp.Dose("A", 1, unit="mg/kg", molecular_weight=1e5),
                                                body_weight=-70),
    "undeclared or compound substance units": lambda: _pk(
        "model m\n compartment C = 1; species S in C = 0; S -> ; 0.1*S\nend").simulate(
        1, doses=qsp.Dose("S", 1, unit="mg", molecular_weight=100)),
    "dose before `t_start`": lambda: _pk().simulate(2, t_start=1, doses=qsp.Dose("A", 1)),
}


def _error_rows() -> list[tuple[str, str]]:
    section = DOC.split("## Errors", 1)[1].split("See [errors.md]", 1)[0]
    rows = re.findall(r"^\| (.+?) \| `(.+)` \|$", section, re.M)
    return [(cause, msg) for cause, msg in rows if cause not in ("cause",)]


def test_error_table_lists_every_trigger():
    causes = [c for c, _ in _error_rows()]
    assert sorted(causes) == sorted(TRIGGERS)


@pytest.mark.parametrize("cause,message", _error_rows())
def test_error_table_messages_are_what_qsp_says(cause, message):
    with pytest.raises(qsp.QSPError) as info:
        TRIGGERS[cause]()
    got = str(info.value)
    pattern = ".*".join(re.escape(part) for part in message.split("[...]"))
    assert re.fullmatch(pattern, got), f"{cause}: qsp says {got!r}"
    assert "\n" not in got
    if "(`UnknownIdError`)" in cause:
        assert isinstance(info.value, qsp.UnknownIdError)
    else:
        assert isinstance(info.value, qsp.DosingError)
