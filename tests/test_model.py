"""Loading, safety, checking, introspection and overrides."""

import numpy as np
import pytest

import qsp

SBML_L2 = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level2/version4" level="2" version="4">
  <model id="l2model">
    <listOfCompartments><compartment id="c" size="1"/></listOfCompartments>
    <listOfSpecies><species id="S" compartment="c" initialAmount="10"/></listOfSpecies>
    <listOfParameters><parameter id="k" value="0.5"/></listOfParameters>
    <listOfReactions>
      <reaction id="decay" reversible="false">
        <listOfReactants><speciesReference species="S"/></listOfReactants>
        <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">
          <apply><times/><ci>k</ci><ci>S</ci></apply></math></kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>"""


def test_load_sbml_string_l2_and_file(tmp_path):
    m = qsp.Model.from_sbml(SBML_L2)
    assert m.name == "l2model"
    path = tmp_path / "m.xml"
    path.write_text(SBML_L2)
    m2 = qsp.load_model(str(path))
    r1, r2 = m.simulate(2, outputs=["S"]), m2.simulate(2, outputs=["S"])
    assert np.allclose(r1["S"], r2["S"])
    assert r1["S"][-1] == pytest.approx(10 * np.exp(-1), rel=1e-5)


def test_load_antimony_file_and_model_from_file(tmp_path, pk1_text):
    p = tmp_path / "pk.ant"
    p.write_text(pk1_text)
    m = qsp.Model.from_file(p)
    assert m.name == "pk"
    assert "A" in m.species.index


def test_load_by_name_and_list_models():
    names = qsp.list_models()
    assert isinstance(names, list)
    with pytest.raises(qsp.UnknownIdError, match="not a shipped model"):
        qsp.Model.bundled("no_such_model")


def test_load_model_rejects_text():
    with pytest.raises(qsp.ModelError, match="from_sbml"):
        qsp.load_model(SBML_L2)


@pytest.mark.parametrize("content,match", [
    ("", "empty"),
    ("hello world", "not XML"),
    ("<?xml version='1.0'?><root/>", "SBML"),
    (SBML_L2[: len(SBML_L2) // 2], "not readable SBML"),
    ("""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model id="m">&lol2;</model></sbml>""",
     "DOCTYPE"),
    ("""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><sbml>&xxe;</sbml>""", "DOCTYPE"),
])
def test_bad_sbml_is_one_line_model_error(content, match):
    with pytest.raises(qsp.ModelError, match=match) as info:
        qsp.Model.from_sbml(content)
    assert "\n" not in str(info.value)


def test_bad_files(tmp_path):
    with pytest.raises(qsp.ModelError, match="does not exist"):
        qsp.Model.from_file(tmp_path / "missing.xml")
    empty = tmp_path / "empty.xml"
    empty.write_text("")
    with pytest.raises(qsp.ModelError, match="empty"):
        qsp.Model.from_file(empty)
    binary = tmp_path / "b.xml"
    binary.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(qsp.ModelError):
        qsp.Model.from_file(binary)


def test_size_limit(monkeypatch):
    from qsp import sbml

    monkeypatch.setattr(sbml, "MAX_MODEL_BYTES", 100)
    with pytest.raises(qsp.ModelError, match="limit"):
        qsp.Model.from_sbml(SBML_L2)


@pytest.mark.parametrize("text,match", [
    ("model m\n S1 -> S2; k1*\nend", "invalid Antimony"),
    ("model m\n S1 -> S2; k1*S1\n S1 = 1; S2 = 0\nend", "k1"),   # undefined symbol
])
def test_bad_antimony(text, match):
    with pytest.raises(qsp.ModelError, match=match):
        qsp.Model.from_antimony(text)


@pytest.mark.parametrize("text,construct", [
    ("model m\n x = 1; y = 1\n 0 = x + y - 2\nend", "algebraic rule"),
    ("model m\n species S = 1; k = 1\n S -> ; k*delay(S, 1)\nend", "delay()"),
])
def test_unsupported_constructs_are_refused_by_name(text, construct):
    with pytest.raises(qsp.UnsupportedModelError) as info:
        qsp.Model.from_antimony(text)
    assert info.value.construct == construct
    assert construct in str(info.value)


def test_fast_reaction_refused():
    text = SBML_L2.replace('reversible="false"', 'reversible="false" fast="true"')
    with pytest.raises(qsp.UnsupportedModelError, match="fast reaction"):
        qsp.Model.from_sbml(text)


def test_validate_reports_errors_and_warnings():
    ok = qsp.Model.from_sbml(SBML_L2).validate()
    assert ok.ok
    bad = SBML_L2.replace('<ci>k</ci>', '<ci>k</ci><cn>1</cn>')  # times with 3 args is fine; make a units clash:
    rep = qsp.Model.from_sbml(bad).validate()
    assert isinstance(rep.to_pandas().columns.tolist(), list)
    broken = SBML_L2.replace('compartment="c"', 'compartment="nowhere"')
    with pytest.raises(qsp.ModelError):
        qsp.Model.from_sbml(broken)  # roadrunner cannot compile a species in a missing compartment
    from qsp.validation import validate_document

    rep = validate_document(broken)
    assert not rep.ok and rep.errors and "nowhere" in rep.to_pandas().message.str.cat()


def test_introspection_tables(pk1):
    sp, par, comp, rx = pk1.species, pk1.parameters, pk1.compartments, pk1.reactions
    assert sp.loc["A", "compartment"] == "V" and sp.loc["A", "units"] == "umol/L"
    assert par.loc["k", "value"] == 0.2 and par.loc["k", "units"] == "1/h"
    assert comp.loc["V", "value"] == 10
    assert "elimination" in rx.index and rx.loc["elimination", "equation"].startswith("A ")
    assert not any(i.startswith("qsp_") for i in list(par.index) + list(rx.index))
    m = qsp.Model.from_antimony("model m\n species S = 1; p := 2*S; at time > 1: S = 5\nend")
    assert m.rules.iloc[0]["variable"] == "p"
    assert len(m.events) == 1 and "S = 5" in m.events.iloc[0]["assignments"]


def test_overrides_do_not_leak(pk1):
    base = pk1.simulate(10, outputs=["A"], initial={"A": 100})
    fast = pk1.simulate(10, outputs=["A"], initial={"A": 100}, params={"k": 1.0})
    again = pk1.simulate(10, outputs=["A"], initial={"A": 100})
    plain = pk1.simulate(10, outputs=["A"])
    assert fast["A"][-1] < base["A"][-1]
    assert np.array_equal(base["A"], again["A"])
    assert np.all(plain["A"] == 0)


def test_override_feeding_initial_assignment():
    m = qsp.Model.from_antimony("model m\n A0 = 2; species S = A0*3; k = 0.1; S -> ; k*S\nend")
    assert m.simulate(1, outputs=["S"], params={"A0": 5})["S"][0] == pytest.approx(15)
    assert m.simulate(1, outputs=["S"])["S"][0] == pytest.approx(6)
    assert m.simulate(1, outputs=["S"], params={"k": 0.5})["S"][0] == pytest.approx(6)


def test_compartment_override_keeps_initial_concentration():
    m = qsp.Model.from_antimony("model m\n compartment C = 2; species S in C = 3; S -> ; 0\nend")
    r = m.simulate(1, outputs=["S", "[S]"], params={"C": 4})
    assert r["[S]"][0] == pytest.approx(3) and r["S"][0] == pytest.approx(12)


def test_unknown_ids_name_close_matches(pk1):
    with pytest.raises(qsp.UnknownIdError, match="did you mean 'k'"):
        pk1.simulate(1, params={"kk": 1})
    with pytest.raises(qsp.UnknownIdError, match="output"):
        pk1.simulate(1, outputs=["[B]"])
    with pytest.raises(qsp.UnknownIdError, match="species"):
        pk1.simulate(1, initial={"Z": 1})
    with pytest.raises(qsp.QSPError, match="number"):
        pk1.simulate(1, params={"k": "fast"})
    with pytest.raises(qsp.QSPError, match=">= 0"):
        pk1.simulate(1, initial={"A": -1})


@pytest.mark.parametrize("kwargs,match", [
    (dict(t_end=-1), "after t_start"), (dict(t_end=1, points=1), "points"), (dict(times=[0, 2, 1]), "increasing"),
    (dict(t_end=1, times=[0, 2]), "after t_end"), (dict(t_end=float("nan")), "finite"), (dict(), "t_end"),
])
def test_bad_time_arguments(pk1, kwargs, match):
    with pytest.raises(qsp.QSPError, match=match):
        pk1.simulate(**kwargs)


def test_result_exports(pk1, tmp_path):
    res = pk1.simulate(5, points=6, outputs=["A", "[A]"], doses=[qsp.Dose("A", 10)])
    df = res.to_pandas()
    assert list(df.columns) == ["time", "A", "[A]"]
    res.to_csv(tmp_path / "r.csv")
    res.to_parquet(tmp_path / "r.parquet")
    import json

    import pandas as pd

    assert np.allclose(pd.read_csv(tmp_path / "r.csv")["A"], res["A"])
    assert np.allclose(pd.read_parquet(tmp_path / "r.parquet")["[A]"], res["[A]"])
    assert json.loads(res.to_json())["columns"]["A"][0] == pytest.approx(10)
    import matplotlib

    matplotlib.use("Agg")
    ax = res.plot()
    assert len(ax.get_lines()) == 2


def test_parameter_named_like_roadrunner_method():
    # a model id equal to a RoadRunner method name must not break this or later models
    m = qsp.Model.from_antimony("model m\n reset = 2; species S = 1; S -> ; reset*S\nend")
    assert m.simulate(1, outputs=["S"])["S"][-1] == pytest.approx(np.exp(-2), rel=1e-5)
    assert m.simulate(1, outputs=["S"])["S"][-1] == pytest.approx(np.exp(-2), rel=1e-5)


def test_delayed_events_do_not_leak_between_calls():
    m = qsp.Model.from_antimony("model m\n x = 1\n E: at 2 after time > 0.5: x = x + 1\nend")
    short = m.simulate(1, outputs=["x"])       # the event is still pending at t_end
    full = m.simulate(4, outputs=["x"], points=5)
    assert short["x"][-1] == 1
    assert full["x"].tolist() == [1, 1, 1, 2, 2]
