"""Dose-unit conversion: mass, moles, per-kg, molecular weight."""

import numpy as np
import pytest

import qsp
from qsp.units import AVOGADRO, SubstanceUnit, to_model_amount

UMOL = SubstanceUnit("mole", 1e-6, "umol")


@pytest.mark.parametrize("amount,unit,mw,bw,expected", [
    (150, "mg", 150_000, None, 1.0),          # 150 mg of a 150 kDa antibody = 1 umol
    (1, "mg/kg", 150_000, 75, 0.5),           # 75 mg
    (20, "ug", 77_000, None, 20e-6 / 77_000 / 1e-6),
    (2, "nmol", None, None, 0.002),
    (3, "umol/kg", None, 10, 30.0),
    (1, "g", 1e6, None, 1.0),
])
def test_conversions_to_umol(amount, unit, mw, bw, expected):
    got = to_model_amount(amount, unit, UMOL, molecular_weight=mw, body_weight=bw, species="A")
    assert got == pytest.approx(expected, rel=1e-12)


def test_mass_species_and_items():
    mg = SubstanceUnit("mass", 1e-3, "mg")
    assert to_model_amount(2, "ug", mg, molecular_weight=None, body_weight=None, species="X") == pytest.approx(2e-3)
    assert to_model_amount(1, "nmol", mg, molecular_weight=1000, body_weight=None, species="X") == pytest.approx(1e-3)
    item = SubstanceUnit("item", 1.0, "item")
    assert to_model_amount(1, "pmol", item, molecular_weight=None, body_weight=None,
                           species="X") == pytest.approx(1e-12 * AVOGADRO)


@pytest.mark.parametrize("kwargs,match", [
    (dict(unit="mg", molecular_weight=None), "molecular weight"),
    (dict(unit="mg/kg", molecular_weight=1e5), "body weight"),
])
def test_missing_information_is_a_clear_error(pk1, kwargs, match):
    dose = qsp.Dose("A", 1, **kwargs)
    with pytest.raises(qsp.DosingError, match=match):
        pk1.simulate(1, doses=[dose])


def test_undeclared_units_refuse_mass_doses():
    m = qsp.Model.from_antimony("model m\n compartment C = 1; species S in C = 0; S -> ; 0.1*S\nend")
    with pytest.raises(qsp.DosingError, match="cannot convert"):
        m.simulate(1, doses=[qsp.Dose("S", 1, unit="mg", molecular_weight=100)])
    # in model units it works
    assert m.simulate(1, doses=[qsp.Dose("S", 1)], outputs=["S"])["S"][0] == pytest.approx(1)


def test_mg_per_kg_dose_end_to_end(pk1):
    # 2 mg/kg x 70 kg = 140 mg of a 140 kDa drug = 1 umol into V = 10 L -> 0.1 uM at t=0
    res = pk1.simulate(times=[0, 1], outputs=["[A]"], body_weight=70,
                       doses=[qsp.Dose("A", 2, unit="mg/kg", molecular_weight=140_000)])
    assert res["[A]"][0] == pytest.approx(0.1, rel=1e-12)


@pytest.mark.parametrize("kwargs,match", [
    (dict(amount=-1), "amount"), (dict(amount="x"), "amount"), (dict(amount=float("nan")), "finite"),
    (dict(amount=1, time=-2), "time"), (dict(amount=1, count=3), "every"), (dict(amount=1, count=0), "count"),
    (dict(amount=1, duration=0), "duration"), (dict(amount=1, every=-1, count=2), "every"),
    (dict(amount=1, unit="furlongs"), "unknown dose unit"),
])
def test_bad_doses(kwargs, match):
    with pytest.raises(qsp.DosingError, match=match):
        qsp.Dose("A", **kwargs)


def test_bad_dose_targets(pk1):
    with pytest.raises(qsp.UnknownIdError, match="'B' is not a dose target"):
        pk1.simulate(1, doses=[qsp.Dose("B", 1)])
    m = qsp.Model.from_antimony("model m\n species S = 1; R = 0; R' = 1; species T = 0; T := S*2\nend")
    with pytest.raises(qsp.DosingError, match="assignment rule"):
        m.simulate(1, doses=[qsp.Dose("T", 1)])


def test_step_up_regimen(pk1):
    doses = [qsp.Dose("A", 20, time=0), qsp.Dose("A", 30, time=7), qsp.Dose("A", 68, time=14, every=7, count=3)]
    res = pk1.simulate(times=[0, 7, 14, 21, 28], outputs=["A"], doses=doses, rtol=1e-10, atol=1e-14)
    decay = np.exp(-0.2 * 7)
    a0 = 20
    a7 = a0 * decay + 30
    a14 = a7 * decay + 68
    assert res["A"][:3] == pytest.approx([a0, a7, a14], rel=1e-8)


def test_regimen_does_not_recompile(pk1):
    rr = pk1._rr
    pk1.simulate(10, doses=[qsp.Dose("A", 1, duration=2)])
    pk1.simulate(10, doses=[qsp.Dose("A", 5, every=1, count=5)])
    assert pk1._rr is rr
