"""Reaction-local parameters of real BioModels models are global parameters named <reaction>_<id>."""

import libsbml
import numpy as np
import pytest
import roadrunner

import qsp

LOCAL = ["BIOMD0000000010.xml", "BIOMD0000000407.xml", "BIOMD0000000434.xml"]


def _local_count(path):
    m = libsbml.readSBMLFromFile(str(path)).getModel()
    return sum(r.getKineticLaw().getNumParameters() + r.getKineticLaw().getNumLocalParameters()
               for r in m.getListOfReactions() if r.isSetKineticLaw())


@pytest.mark.parametrize("name", LOCAL)
def test_local_parameters_are_listed_and_addressable(biomodels, name):
    path = biomodels / name
    m = qsp.load_model(path)
    n_local = _local_count(path)
    assert n_local > 0
    assert len(m.local_parameters) == n_local
    assert set(m.local_parameters) <= set(m.parameters.index)
    gid, (rid, lid) = next(iter(m.local_parameters.items()))
    assert gid == f"{rid}_{lid}"


def _raw(sbml_text, t_end, selections):
    rr = roadrunner.RoadRunner(sbml_text)
    return rr.simulate(0, t_end, 11, ["time", *selections])[:, 1:]


def test_changing_a_local_parameter_matches_libroadrunner_on_the_edited_file(biomodels):
    path = biomodels / "BIOMD0000000010.xml"
    m = qsp.load_model(path)
    ids = ["MKKK", "MAPK_PP"]
    np.testing.assert_allclose(m.simulate(1000, points=11, outputs=ids).values,
                               _raw(path.read_text(), 1000, ids), rtol=1e-6, atol=1e-9)
    doc = libsbml.readSBMLFromFile(str(path))
    law = doc.getModel().getReaction("J0").getKineticLaw()
    law.getParameter("V1").setValue(3.0)
    edited = libsbml.writeSBMLToString(doc)
    np.testing.assert_allclose(m.simulate(1000, points=11, outputs=ids, params={"J0_V1": 3.0}).values,
                               _raw(edited, 1000, ids), rtol=1e-6, atol=1e-9)


def test_a_bare_local_id_points_to_its_scoped_name(biomodels):
    m = qsp.load_model(biomodels / "BIOMD0000000010.xml")
    with pytest.raises(qsp.UnknownIdError, match="local parameter of reaction.*J0.*'J0_V1'"):
        m.simulate(10, params={"V1": 3})


def test_cli_info_lists_local_parameters_and_param_accepts_them(biomodels):
    import subprocess
    import sys

    path = str(biomodels / "BIOMD0000000010.xml")
    p = subprocess.run([sys.executable, "-m", "qsp", "info", path], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "parameters (22)" in p.stdout and "J0_V1" in p.stdout
    p = subprocess.run([sys.executable, "-m", "qsp", "simulate", path, "--t-end", "10", "--points", "3",
                        "--param", "J0_V1=3", "--output", "MKKK"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.strip().splitlines()) == 4


def test_parameter_table_names_the_reaction_of_a_promoted_parameter(biomodels, pk1):
    table = qsp.load_model(biomodels / "BIOMD0000000010.xml").parameters
    assert table.loc["J0_V1", "reaction"] == "J0"
    assert (table["reaction"] != "").all()
    assert (pk1.parameters["reaction"] == "").all()
