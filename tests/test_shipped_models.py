"""Every shipped model goes through the same checks: its files, load, validate, regimens, CLI, example."""

import importlib
import subprocess
import sys
from pathlib import Path

import libsbml
import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.ensemble import sampling
from qsp.sbml import antimony_to_sbml

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["cd3_crs", "pembro_bev", "trimeric", "tritherapy"]


def test_the_models_are_listed():
    assert set(MODELS) <= set(qsp.list_models())
    p = subprocess.run([sys.executable, "-m", "qsp", "models"], capture_output=True, text=True)
    assert all(name in p.stdout for name in MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_xml_is_l3v2_consistent_and_rebuilt_byte_for_byte(name):
    xml = ROOT / "sbml_models" / f"{name}.xml"
    doc = libsbml.readSBMLFromFile(str(xml))
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    errors = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
              if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    assert errors == []
    model = doc.getModel()
    assert model.isSetTimeUnits() and model.isSetSubstanceUnits() and model.isSetVolumeUnits()
    builder = importlib.import_module(f"qsp.sbml_models.build_{name}")
    assert builder.build() == xml.read_text(encoding="utf-8")  # raises on libSBML errors


@pytest.mark.parametrize("name", MODELS)
def test_antimony_source_and_xml_agree(name):
    xml = qsp.load_model(name)
    text = (ROOT / "sbml_models" / f"{name}.ant").read_text(encoding="utf-8")
    ant = qsp.Model(antimony_to_sbml(text), name=name, metadata=xml.metadata)
    doses, params = xml.regimen(xml.metadata["default_regimen"])
    outputs = list(dict.fromkeys(xml.metadata["outputs"].values()))
    kw = dict(points=xml.metadata["points"], outputs=outputs, doses=doses, params=params, rtol=1e-10, atol=1e-14)
    a = xml.simulate(xml.metadata["t_end"], **kw)
    b = ant.simulate(xml.metadata["t_end"], **kw)
    for o in outputs:
        np.testing.assert_allclose(a[o], b[o], rtol=1e-7, atol=1e-12, err_msg=o)


@pytest.mark.parametrize("name", MODELS)
def test_loads_validates_and_has_complete_metadata(name):
    m = qsp.load_model(name)
    rep = m.validate()
    assert rep.ok and not rep.warnings, str(rep)
    meta = m.metadata
    for key in ("title", "time_unit", "t_end", "points", "drugs", "regimens", "default_regimen", "outputs",
                "parameter_ranges", "references"):
        assert key in meta, key
    for drug in meta["drugs"]:
        assert drug["target"] in m.dose_targets and drug["molecular_weight"] > 0
    for sel in meta["outputs"].values():
        assert sel in m._check_outputs([sel])
    ranges = sampling.check_ranges(meta["parameter_ranges"])  # explicit distribution specs, each valid
    for pid, spec in ranges.items():
        assert pid in m.parameters.index or pid in m.species.index, pid
        assert meta["parameter_ranges"][pid]["description"].strip(), pid  # where the range comes from
        value = m.parameters.loc[pid, "value"] if pid in m.parameters.index else m.species.loc[pid, "value"]
        low, high = sampling.bounds(spec)
        assert low <= value <= high, pid
    x = sampling.sample_parameters(ranges, 500, seed=1)
    assert np.isfinite(x.to_numpy()).all()
    for name, pset in meta.get("parameter_sets", {}).items():
        assert pset["description"].strip() and pset["provenance"], name
        assert set(m.parameter_set(name)) <= set(m.parameters.index), name


@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_set_simulates_the_default_regimen(name):
    m = qsp.load_model(name)
    doses, params = m.regimen()
    for pset in m.metadata.get("parameter_sets", {}):
        res = m.simulate(m.metadata["t_end"], points=100, doses=doses, params={**params, **m.parameter_set(pset)})
        assert np.isfinite(res.values).all(), pset


@pytest.mark.parametrize("name", MODELS)
def test_every_regimen_simulates_non_negative(name):
    m = qsp.load_model(name)
    species = [s for s in m.species.index if not m.species.loc[s, "constant"]]
    for reg in m.metadata["regimens"]:
        doses, params = m.regimen(reg)
        res = m.simulate(m.metadata["t_end"], points=200, outputs=species, doses=doses, params=params)
        assert np.isfinite(res.values).all(), reg
        assert res.values.min() > -1e-6 * max(1.0, np.abs(res.values).max()), reg


@pytest.mark.parametrize("name", MODELS)
def test_cli_simulate_default_regimen(name, tmp_path):
    out = tmp_path / f"{name}.csv"
    p = subprocess.run([sys.executable, "-m", "qsp", "simulate", name, "--out", str(out), "--points", "50"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "default regimen" in p.stderr
    df = pd.read_csv(out)
    m = qsp.load_model(name)
    doses, params = m.regimen()
    ref = m.simulate(m.metadata["t_end"], points=50, doses=doses, params=params)
    assert np.allclose(df.drop(columns="time").to_numpy(), ref.values, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", [m for m in MODELS if m != "pembro_bev"])  # its example: test_synergy_examples
def test_example_runs_and_draws(name, tmp_path):
    target = tmp_path / "fig"
    target.mkdir()
    png = target / f"{name}.png"
    arg = str(target) if name == "tritherapy" else str(png)
    p = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), arg], capture_output=True,
                       text=True, timeout=300, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert png.exists() and png.stat().st_size > 20_000
