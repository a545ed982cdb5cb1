"""Units carried from SBML into results, tables and plots; the model repr; notebook HTML."""

import json
import math
import re
from pathlib import Path

import libsbml
import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import cli
from qsp.display import TABLE_ROWS
from qsp.model_units import ModelUnits, output_units, time_unit
from qsp.result import MAX_LEGEND

MODELS_DIR = Path(__file__).resolve().parents[1] / "sbml_models"
BIOMODELS = Path(__file__).resolve().parents[2] / "shared" / "references" / "biomodels"


def antimony(body: str) -> qsp.Model:
    return qsp.Model.from_antimony(f"model m\n{body}\nend")


# ----------------------------------------------------------------------------- readable units are exact
# An independent reader of the strings qsp writes ("L/(nmol*day)", "(1800 s)^2", "cell/uL"), giving the
# SI factor and base-unit exponents, compared with libsbml's own conversion of each definition to SI.
_SI_PREFIX = {"a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "c": 1e-2, "d": 1e-1,
              "k": 1e3, "M": 1e6, "G": 1e9}
#: symbol -> (SI factor, SI base kinds with exponents)
_BASE = {"mol": (1.0, {"mole": 1}), "L": (1e-3, {"metre": 3}), "g": (1e-3, {"kilogram": 1}),
         "m": (1.0, {"metre": 1}), "s": (1.0, {"second": 1}), "min": (60.0, {"second": 1}),
         "h": (3600.0, {"second": 1}), "day": (86400.0, {"second": 1}), "week": (604800.0, {"second": 1}),
         "item": (1.0, {"item": 1}), "Gy": (1.0, {"metre": 2, "second": -2}), "K": (1.0, {"kelvin": 1})}


def _atom(token: str, item_names: set[str]) -> tuple[float, dict]:
    m = re.fullmatch(r"\(?(?:(?P<f>[0-9.e+-]+) )?(?P<u>\w+)\)?", token)
    assert m, token
    factor, sym = float(m.group("f") or 1.0), m.group("u")
    if sym in item_names:
        sym = "item"
    if sym not in _BASE:
        assert sym[0] in _SI_PREFIX and sym[1:] in _BASE, token
        factor, sym = factor * _SI_PREFIX[sym[0]], sym[1:]
    base_factor, kinds = _BASE[sym]
    return factor * base_factor, kinds


def parse_unit(text: str, item_names: set[str]) -> tuple[float, dict]:
    """(SI factor, {SI base kind: exponent}) of a unit string as qsp writes it."""
    if text == "dimensionless":
        return 1.0, {}
    num, _, den = text.partition("/")
    if den.startswith("(") and den.endswith(")") and "*" in den:
        den = den[1:-1]
    total, dims = 1.0, {}
    for part, sign in ((num, 1), (den, -1)):
        if part in ("", "1"):
            continue
        for tok in re.split(r"\*(?![^(]*\))", part):
            base, _, exp = tok.rpartition("^") if "^" in tok else (tok, "", "1")
            factor, kinds = _atom(base, item_names)
            e = sign * float(exp)
            total *= factor ** e
            for k, v in kinds.items():
                dims[k] = dims.get(k, 0) + v * e
    return total, {k: v for k, v in dims.items() if v}


def si_of_definition(ud: libsbml.UnitDefinition) -> tuple[float, dict]:
    """libsbml's conversion of a definition to SI base units, as (factor, {kind: exponent})."""
    si = libsbml.UnitDefinition.convertToSI(ud)
    factor, dims = 1.0, {}
    for u in si.getListOfUnits():
        kind = libsbml.UnitKind_toString(u.getKind())
        factor *= (u.getMultiplier() * 10.0 ** u.getScale()) ** u.getExponentAsDouble()
        if kind != "dimensionless":
            dims[kind] = dims.get(kind, 0) + u.getExponentAsDouble()
    return factor, {k: v for k, v in dims.items() if v}


def _definitions():
    files = sorted(MODELS_DIR.glob("*.xml")) + (sorted(BIOMODELS.glob("*.xml")) if BIOMODELS.is_dir() else [])
    for path in files:
        doc = libsbml.readSBMLFromFile(str(path))
        units = ModelUnits(doc)
        for ud in doc.getModel().getListOfUnitDefinitions():
            yield pytest.param(path.name, units, ud.getId(), id=f"{path.stem}:{ud.getId()}")


@pytest.mark.parametrize("model_file,units,uid", list(_definitions()))
def test_every_unit_definition_reads_as_exactly_what_it_defines(model_file, units, uid):
    ud = units.model.getUnitDefinition(uid)
    text = units.string(uid)
    got_factor, got_dims = parse_unit(text, {units.item})
    want_factor, want_dims = si_of_definition(ud)
    assert got_dims == want_dims, (text, want_dims)
    assert math.isclose(got_factor, want_factor, rel_tol=1e-9), (text, got_factor, want_factor)


def test_shipped_unit_definitions_read_well():
    want = {("trimeric", "per_nM_per_day"): "L/(nmol*day)", ("trimeric", "nM"): "nmol/L",
            ("trimeric", "litre_per_day"): "L/day", ("cd3_crs", "cell_per_uL"): "cell/uL",
            ("cd3_crs", "pg_per_mL_per_hour"): "pg/(mL*h)", ("cd3_crs", "hour"): "h",
            ("pembro_bev", "mL2_per_ug2_per_day"): "mL^2/(ug^2*day)", ("pembro_bev", "kg"): "kg",
            ("tritherapy", "per_Gy2"): "1/Gy^2", ("tritherapy", "dimensionless_litre"): "L"}
    for (name, uid), text in want.items():
        doc = libsbml.readSBMLFromFile(str(MODELS_DIR / f"{name}.xml"))
        assert ModelUnits(doc).string(uid) == text, (name, uid)


# ----------------------------------------------------------------------------- time units
@pytest.mark.parametrize("definition,expected", [
    ("unit time_unit = 3600 second", "hour"), ("unit time_unit = 60 second", "minute"),
    ("unit time_unit = 86400 second", "day"), ("unit time_unit = 604800 second", "week"),
    ("unit time_unit = second", "second"), ("unit time_unit = 1e-3 second", "ms"),
    ("unit time_unit = 1800 second", "1800 s"), ("", ""),
])
def test_level3_time_unit(definition, expected):
    m = antimony(f"  {definition}\n  species S = 1; S -> ; 0.1*S")
    assert m.time_unit == expected
    assert m.simulate(1, outputs=["S"]).time_unit == expected


def test_level2_time_unit_default_and_redefined():
    sbml = ('<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level2/version4" '
            'level="2" version="4"><model id="m">{units}<listOfCompartments><compartment id="c" size="1"/>'
            '</listOfCompartments></model></sbml>')
    assert qsp.Model.from_sbml(sbml.format(units="")).time_unit == "second"
    hours = ('<listOfUnitDefinitions><unitDefinition id="time"><listOfUnits><unit kind="second" multiplier="3600"/>'
             '</listOfUnits></unitDefinition></listOfUnitDefinitions>')
    assert time_unit(libsbml.readSBMLFromString(sbml.format(units=hours))) == "hour"
    level3 = ('<?xml version="1.0" encoding="UTF-8"?><sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" '
              'level="3" version="2"><model id="m" timeUnits="{}"/></sbml>')
    for base in ("second", "dimensionless"):  # a base unit named directly, without a definition
        assert time_unit(libsbml.readSBMLFromString(level3.format(base))) == base


@pytest.mark.parametrize("name", ["trimeric", "cd3_crs", "pembro_bev", "tritherapy"])
def test_shipped_time_units_match_their_metadata(name):
    m = qsp.load_model(name)
    assert m.time_unit and m.time_unit == m.metadata["time_unit"]


# ----------------------------------------------------------------------------- units of outputs
def test_result_units_of_every_kind_of_selector():
    m = qsp.load_model("trimeric")
    res = m.simulate(7, points=8, outputs=["Cp", "[Cp]", "central", "CL", "J_clear", "FAP_tot", "k_T"])
    assert res.units == {"Cp": "nmol", "[Cp]": "nmol/L", "central": "L", "CL": "L/day", "J_clear": "nmol/day",
                         "FAP_tot": "nmol/L", "k_T": "1/day"}
    # the same strings as the tables
    assert m.species.loc["Cp", "units"] == res.units["[Cp]"]
    assert m.compartments.loc["central", "units"] == res.units["central"]
    assert m.parameters.loc["CL", "units"] == res.units["CL"]


def test_units_without_declarations_and_derived_ones():
    m = antimony("  unit substance = 1e-9 mole\n  unit volume = litre\n  unit time_unit = 3600 second\n"
                 "  unit per_hour = 1 / 3600 second\n  compartment C = 2 litre\n  species S in C = 3\n"
                 "  k = 0.1 per_hour\n  total := S * C\n  plain := 2 * S\n  J: S => ; k * S * C")
    assert output_units(m, ["S", "[S]", "C", "k", "total", "plain", "J"]) == {
        "S": "nmol", "[S]": "nmol/L", "C": "L", "k": "1/h", "total": "nmol", "J": "nmol/h"}
    bare = antimony("  compartment C = 1; species S in C = 1; k = 0.1; S -> ; k*S")
    assert bare.simulate(1, outputs=["S", "[S]", "k"]).units == {}
    assert bare.time_unit == ""


def test_units_in_pandas_json_and_parquet(tmp_path):
    m = qsp.load_model("trimeric")
    res = m.simulate(7, points=8, outputs=["Cp", "[Cp]"])
    df = res.to_pandas()
    assert df.attrs == {"time_unit": "day", "units": {"Cp": "nmol", "[Cp]": "nmol/L"}}
    data = json.loads(res.to_json())
    assert data["units"] == {"Cp": "nmol", "[Cp]": "nmol/L"} and data["time_unit"] == "day"
    res.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert back.attrs["units"] == {"Cp": "nmol", "[Cp]": "nmol/L"} and back.attrs["time_unit"] == "day"
    assert np.array_equal(back["[Cp]"].to_numpy(), res["[Cp]"])
    assert res.unit("time") == "day" and res.label("[Cp]") == "[Cp] (nmol/L)"


# ----------------------------------------------------------------------------- plots
def test_plot_shared_unit_labels_the_y_axis():
    import matplotlib.pyplot as plt

    res = qsp.load_model("trimeric").simulate(7, points=8, outputs=["[Cp]", "[D]", "FAP_tot"])
    ax = res.plot()
    assert ax.get_ylabel() == "nmol/L" and ax.get_xlabel() == "time (day)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["[Cp]", "[D]", "FAP_tot"]
    plt.close(ax.figure)


def test_plot_mixed_units_go_into_the_legend():
    import matplotlib.pyplot as plt

    res = qsp.load_model("trimeric").simulate(7, points=8, outputs=["Cp", "[Cp]", "CL"])
    ax = res.plot()
    assert ax.get_ylabel() == ""
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Cp (nmol)", "[Cp] (nmol/L)", "CL (L/day)"]
    plt.close(ax.figure)


def test_plot_with_many_outputs_keeps_the_legend_off_the_data():
    import matplotlib.pyplot as plt

    if not BIOMODELS.is_dir():
        pytest.skip("BioModels reference files not found")
    m = qsp.Model.from_file(BIOMODELS / "BIOMD0000000019.xml")
    res = m.simulate(10, points=5)
    assert len(res.outputs) == 93
    ax = res.plot()
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == MAX_LEGEND + 1 and texts[-1] == f"... and {93 - MAX_LEGEND} more"
    assert len(ax.get_lines()) == 93
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box, frame = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 >= frame.x1  # beside the axes, not over the curves
    assert box.x1 <= fig.bbox.x1 + 1 and box.y0 >= fig.bbox.y0 - 1  # and inside the figure
    assert set(res.units.values()) == {"item/pL"} and ax.get_ylabel() == "item/pL"  # one unit: on the axis
    plt.close(fig)


# ----------------------------------------------------------------------------- repr and HTML
def test_repr_counts_what_the_tables_list():
    m = antimony("  compartment C = 1; species S in C = 1; species $Y in C = 2; species T in C = 0\n"
                 "  k = 0.1; S -> T; k*S*Y\n  T -> ; k*T")
    assert len(m.species) == 3 and m.species["boundary_condition"].sum() == 1
    assert repr(m) == "Model('m': 3 species (1 boundary), 1 parameters, 2 reactions)"
    plain = qsp.load_model("trimeric")
    assert repr(plain) == (f"Model('trimeric': {len(plain.species)} species, {len(plain.parameters)} parameters, "
                           f"{len(plain.reactions)} reactions)")


def test_result_html_has_header_units_and_head_and_tail():
    res = qsp.load_model("trimeric").simulate(28, points=101, outputs=["Cp", "[Cp]"])
    html = res._repr_html_()
    assert "101 points, t = 0..28 day, 2 outputs: Cp, [Cp]" in html
    assert "<th>time (day)</th>" in html and "<th>[Cp] (nmol/L)</th>" in html and "<th>Cp (nmol)</th>" in html
    assert "<td>...</td>" in html and "<td>0.00</td>" in html and "<td>28.00</td>" in html
    assert html.count("<tr>") == 10 + 1  # 5 head and 5 tail rows, the ellipsis row (the header row has a style)
    assert not hasattr(res, "_repr_png_")


def test_model_html_summary():
    m = qsp.load_model("trimeric")
    html = m._repr_html_()
    meta = m.metadata
    assert "<code>trimeric</code>" in html and meta["title"].split(":")[0] in html
    for label, value in [("time unit", "day"), ("species", str(len(m.species))),
                         ("parameters", str(len(m.parameters))), ("compartments", str(len(m.compartments))),
                         ("reactions", str(len(m.reactions))), ("events", "0"), ("dose targets", "Cp, Cper")]:
        assert re.search(rf"<th[^>]*>{label}</th><td[^>]*>{re.escape(value)}", html), label
    drug = meta["drugs"][0]
    assert f"{drug['name']} &rarr; <code>{drug['target']}</code>" in html and "MW 200000 g/mol" in html
    for name in meta["regimens"]:
        assert f"<code>{name}</code>" in html
    assert f"<code>{meta['default_regimen']}</code> (default)" in html
    assert f"species</b> ({len(m.species)})" in html and "<th>Cp</th>" in html and "nmol/L" in html
    assert f"parameters</b> (first {TABLE_ROWS} of {len(m.parameters)})" in html
    shown = m.parameters.index[:TABLE_ROWS]
    assert f"<th>{shown[-1]}</th>" in html and f"<th>{m.parameters.index[TABLE_ROWS]}</th>" not in html


def test_model_html_of_a_model_without_metadata_escapes_text():
    m = qsp.Model.from_antimony("model m\n species S = 1; S -> ; 0.1*S\nend", name="a<b>")
    html = m._repr_html_()
    assert "<code>a&lt;b&gt;</code>" in html and "(not declared)" in html and "drug" not in html


def test_validation_report_html():
    rep = qsp.load_model("trimeric").validate()
    assert rep._repr_html_().startswith("<p><b>ValidationReport</b>: ok, 0 error(s), 0 warning(s)")
    m = antimony("  compartment C = 1 litre; species S in C = 1; k = 0.1\n  S -> ; k*S")
    bad = m.validate()
    html = bad._repr_html_()
    assert f"{len(bad.warnings)} warning(s)" in html and "<table" in html
    assert bad.issues[0]["message"][:30] in html


# ----------------------------------------------------------------------------- dose messages anyone can act on
def test_missing_weights_name_both_python_and_command_line(tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(cli, "ANALYSIS_COMMANDS", type(cli.ANALYSIS_COMMANDS)())  # core subcommands only
    path = tmp_path / "pk.ant"
    path.write_text("model pk\n unit substance = 1e-6 mole\n unit volume = litre\n compartment V = 10 litre\n"
                    " species A in V = 0\n k = 0.2\n A -> ; k*A*V\nend\n")
    m = qsp.Model.from_file(path)
    with pytest.raises(qsp.DosingError) as info:
        m.simulate(1, doses=qsp.Dose("A", 1, unit="mg/kg", molecular_weight=1e5))
    assert "body_weight=" in str(info.value) and "--body-weight" in str(info.value)
    with pytest.raises(qsp.DosingError) as info:
        m.simulate(1, doses=qsp.Dose("A", 1, unit="mg"))
    assert "molecular_weight=" in str(info.value) and "mw=" in str(info.value)
    assert cli.main(["simulate", str(path), "--t-end", "1", "--dose", "target=A,amount=1,unit=mg/kg,mw=1e5"]) == 1
    err = capfd.readouterr().err.strip()
    assert err.startswith("qsp: error:") and "--body-weight" in err and "\n" not in err
    assert cli.main(["simulate", str(path), "--t-end", "1", "--dose", "target=A,amount=1,unit=mg/kg,mw=1e5",
                     "--body-weight", "70", "--output", "A", "--points", "2"]) == 0
    first = capfd.readouterr().out.splitlines()[1].split(",")
    assert float(first[0]) == 0 and float(first[1]) == pytest.approx(70e-3 / 1e5 / 1e-6)  # 70 mg, 100 kDa: 0.7 umol
