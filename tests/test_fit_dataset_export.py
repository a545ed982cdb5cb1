"""A dataset problem exported to PEtab v1 (``DatasetObjective.to_petab``, ``qsp petab export``): the files
pass ``petab.lint`` and the exported problem's likelihood is the dataset objective's; what PEtab v1
cannot express is refused in one line."""

import io
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp.datasets import read_dataset
from qsp.fit.dataset_objective import DatasetObjective
from qsp.fit.petab_export import export_petab
from qsp.fit.petab_problem import PetabObjective

from .cli_checks import one_line, run_cli

MODELS = Path(__file__).resolve().parent / "models"
THEO = Path(__file__).resolve().parents[2] / "shared" / "references" / "data" / "nlmixr2data" / "theo_sd.csv"
CMT = {1: "depot", 2: "central"}
ESTIMATE = ["KA=0.1:10", "CL=0.3:30", "V=3:300"]
#: Three subjects: boluses at 0, 12 and 24 (an observation at 12 after the dose row); one bolus with
#: two ADDL repeats; and, from TIME 5 on, a 2 h infusion into central then an oral bolus.
MULTI = """ID,TIME,AMT,CMT,EVID,RATE,ADDL,II,DV,WT
1,0,100,1,1,0,0,0,.,70
1,1,.,2,0,0,0,0,0.9,70
1,4,.,2,0,0,0,0,1.0,70
1,12,80,1,1,0,0,0,.,70
1,12,.,2,0,0,0,0,1.1,70
1,14,.,2,0,0,0,0,1.6,70
1,24,120,1,1,0,0,0,.,70
1,30,.,2,0,0,0,0,1.5,70
2,0,150,1,1,0,2,8,.,50
2,3,.,2,0,0,0,0,1.8,50
2,8,.,2,0,0,0,0,1.2,50
2,10,.,2,0,0,0,0,2.2,50
2,20,.,2,0,0,0,0,2.0,50
3,5,200,2,1,100,0,0,.,90
3,6,.,2,0,0,0,0,1.5,90
3,8,.,2,0,0,0,0,2.6,90
3,10,50,1,1,0,0,0,.,90
3,12,.,2,0,0,0,0,2.0,90
"""


@pytest.fixture(scope="module")
def oral():
    return qsp.Model.from_file(MODELS / "one_cpt_oral.ant")


@pytest.fixture(scope="module")
def theo():
    if not THEO.exists():
        pytest.skip("theo_sd.csv not found")
    return read_dataset(THEO, evid_style="rxode2", cmt_map=CMT)


def _multi(text: str = MULTI):
    return read_dataset(io.StringIO(text), cmt_map=CMT)


def _agree(obj, path, points):
    pet = PetabObjective.from_yaml(path)   # linted on reading
    assert pet.space.ids == obj.space.ids and pet.space.scales == obj.space.scales
    assert np.allclose(pet.space.lower, obj.space.lower) and np.allclose(pet.space.upper, obj.space.upper)
    for x in points:
        a, b = obj.nllh(x), pet.nllh(x)
        assert math.isfinite(a) and b == pytest.approx(a, rel=1e-6), (x, a, b)
    return pet


def _two_points(obj):
    return [obj.space.nominal, obj.space.nominal + 0.1 * np.arange(1, len(obj.space) + 1) * (-1) ** np.arange(
        len(obj.space))]


@pytest.mark.parametrize("error", ["additive", "combined"])
def test_theophylline_pooled(oral, theo, tmp_path, error):
    obj = DatasetObjective(oral, theo, observe={"DV": "CP"}, estimate=ESTIMATE, error=error)
    path = obj.to_petab(tmp_path / "theo")
    pet = _agree(obj, path, _two_points(obj))
    assert pet.n_measurements == len(obj.measurements) == 132
    cond = pd.read_csv(next((tmp_path / "theo").glob("conditions_*.tsv")), sep="\t")
    assert len(cond) == 12 and "dose_depot_0_amount" in cond.columns  # doses at time 0: initial amounts
    assert cond.loc[0, "dose_depot_0_amount"] == pytest.approx(319.992)
    par = pd.read_csv(next((tmp_path / "theo").glob("parameters_*.tsv")), sep="\t").set_index("parameterId")
    assert list(par.index) == list(obj.space.ids) and (par["estimate"] == 1).all()


@pytest.mark.parametrize("error,distribution", [("additive", "normal"), ("proportional", "normal"),
                                                ("combined", "normal"), ("additive", "lognormal")])
def test_multiple_doses_and_an_infusion(oral, tmp_path, error, distribution):
    obj = DatasetObjective(oral, _multi(), observe={"DV": "CP"}, estimate=["KA=0.1:10", "CL=0.4:40", "V=7:700"],
                           error=error, distribution=distribution)
    path = export_petab(obj, tmp_path / "multi")
    _agree(obj, path, _two_points(obj))
    cond = pd.read_csv(next((tmp_path / "multi").glob("conditions_*.tsv")), sep="\t").set_index("conditionId")
    assert list(cond.loc["subject_2", ["dose_depot_1_time", "dose_depot_2_time"]]) == [8, 16]   # ADDL
    assert math.isinf(cond.loc["subject_3", "dose_depot_2_time"])                               # unused slot
    assert list(cond.loc["subject_3", ["infusion_central_1_start", "infusion_central_1_end",
                                       "infusion_central_1_rate"]]) == [0, 2, 100]              # shifted by 5
    meas = pd.read_csv(next((tmp_path / "multi").glob("measurements_*.tsv")), sep="\t")
    assert list(meas.loc[meas["simulationConditionId"] == "subject_3", "time"]) == [1, 3, 7]


def test_fixed_sigma_fixed_parameter_and_a_parameter_column(oral, tmp_path):
    text = MULTI.replace("DV,WT", "DV,V").replace(",70\n", ",60\n").replace(",50\n", ",40\n").replace(",90\n", ",80\n")
    obj = DatasetObjective(oral, _multi(text), observe={"DV": "CP"}, estimate=["KA=0.1:10", "CL=0.4:40:lin:3"],
                           error="combined", sigma={"add": 0.2})
    x = obj.space.nominal
    path = obj.to_petab(tmp_path / "cols", x + 0.05)
    pet = _agree(obj, path, [x, x + 0.05])
    assert np.allclose(pet.space.nominal, x + 0.05)              # nominal values from x
    cond = pd.read_csv(next((tmp_path / "cols").glob("conditions_*.tsv")), sep="\t")
    assert list(cond["V"]) == [60, 40, 80]                        # the per-subject column
    obs = pd.read_csv(next((tmp_path / "cols").glob("measurements_*.tsv")), sep="\t")
    assert set(obs["noiseParameters"]) == {"0.2;sigma_prop"}      # fixed sigma a number, estimated one by id
    fixed = DatasetObjective(oral, _multi(), observe={"DV": "CP"}, estimate=["KA=0.1:10", "CL=0.4:40"],
                             params={"V": 55.0}, sigma={"add": 0.3})
    _agree(fixed, fixed.to_petab(tmp_path / "fixed"), _two_points(fixed))


@pytest.mark.parametrize("text,options,message", [
    ("ID,TIME,AMT,CMT,EVID,DV\n1,0,100,1,1,.\n1,2,.,2,0,1.0\n1,3,0,1,3,.\n1,4,100,1,1,.\n1,5,.,2,0,1.0\n", {},
     "dataset row 3 resets the subject (EVID 3); PEtab v1 has no resets"),
    ("ID,TIME,AMT,CMT,EVID,SS,II,DV\n1,0,100,1,1,1,12,.\n1,2,.,2,0,0,0,1.0\n", {},
     "dataset row 1 is a steady-state dose (SS 1); PEtab v1 cannot express it"),
    ("ID,TIME,AMT,CMT,EVID,RATE,DV\n1,0,100,2,1,-1,.\n1,2,.,2,0,0,1.0\n", {"modelled_rate": {"central": 50.0}},
     "dataset row 1 has a modelled infusion rate (RATE -1); PEtab v1 cannot express it"),
    ("ID,TIME,AMT,CMT,EVID,DV,V\n1,0,100,1,1,.,70\n1,2,.,2,0,1.0,70\n1,4,.,2,0,1.0,80\n", {},
     "dataset row 3 changes parameter 'V' within the subject; PEtab v1 conditions hold one value per subject"),
    ("ID,TIME,AMT,CMT,EVID,DV\n1,0,.,2,0,0.1\n1,0,100,1,1,.\n1,2,.,2,0,1.0\n", {},
     "dataset row 1 is an observation written before the dose of dataset row 2 at the same time"),
])
def test_what_petab_cannot_express_is_one_line(oral, tmp_path, text, options, message):
    obj = DatasetObjective(oral, _multi(text), observe={"DV": "CP"}, estimate=["KA=0.1:10", "CL=0.4:40"],
                           sigma={"add": 0.3}, **options)
    with pytest.raises(qsp.InputError) as exc:
        obj.to_petab(tmp_path / "no")
    assert str(exc.value).startswith("PEtab export: ") and message in str(exc.value) and "\n" not in str(exc.value)
    assert not (tmp_path / "no").exists()


def test_censored_rows_are_refused_or_dropped(oral, tmp_path):
    text = MULTI.replace("DV,WT", "DV,WT,BLQ").replace(",70\n", ",70,0\n").replace(",50\n", ",50,0\n").replace(
        ",90\n", ",90,0\n").replace("1,30,.,2,0,0,0,0,1.5,70,0", "1,30,.,2,0,0,0,0,0.5,70,1")
    obj = DatasetObjective(oral, _multi(text), observe={"DV": "CP"}, estimate=["KA=0.1:10", "CL=0.4:40"],
                           sigma={"add": 0.3})
    with pytest.raises(qsp.InputError, match="dataset row 8 is censored .BLQ 1. and PEtab v1 has no censoring"):
        obj.to_petab(tmp_path / "blq")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = obj.to_petab(tmp_path / "blq", censored="drop")
    assert any("1 censored (BLQ) observations left out" in str(w.message) for w in caught)
    pet = PetabObjective.from_yaml(path)
    assert pet.n_measurements == len(obj.measurements) - 1


def test_cli_export(oral, theo, tmp_path, capfd):
    out = tmp_path / "exported"
    rc, err = run_cli(capfd, "petab", "export", MODELS / "one_cpt_oral.ant", "--data", THEO, "--evid-style", "rxode2",
                      "--cmt", "1=depot", "--cmt", "2=central", "--observe", "DV=CP", *sum(
                          (["--estimate", e] for e in ESTIMATE), []), "--out", out)
    assert rc == 0, err
    yaml = out / "one_cpt_oral.yaml"
    assert err.strip() == f"12 subjects (conditions), 132 observations, 4 estimated parameters -> {yaml}"
    obj = DatasetObjective(oral, theo, observe={"DV": "CP"}, estimate=ESTIMATE)
    _agree(obj, out / "one_cpt_oral.yaml", [obj.space.nominal])
    rc, err = run_cli(capfd, "petab", "export", MODELS / "one_cpt_oral.ant", "--data", THEO, "--observe", "DV=CP",
                      "--estimate", "KA=0.1:10", "--out", out)
    assert rc != 0 and "is not an EVID" in one_line(err)      # the reading options of qsp fit apply
    ss = tmp_path / "ss.csv"
    ss.write_text("ID,TIME,AMT,CMT,EVID,SS,II,DV\n1,0,100,1,1,1,12,.\n1,2,.,2,0,0,0,1.0\n")
    rc, err = run_cli(capfd, "petab", "export", MODELS / "one_cpt_oral.ant", "--data", ss, "--cmt", "1=depot",
                      "--cmt", "2=central", "--observe", "DV=CP", "--estimate", "KA=0.1:10", "--out", tmp_path / "ss")
    assert rc == 1 and one_line(err) == ("qsp: error: PEtab export: dataset row 1 is a steady-state dose (SS 1); "
                                         "PEtab v1 cannot express it")


def test_lag_and_bioavailability(tmp_path):
    text = (MODELS / "one_cpt_oral.ant").read_text().replace("KA = 1", "KA = 1; ALAG = 0.5; F1 = 0.8")
    model = qsp.Model.from_antimony(text)
    data = _multi("ID,TIME,AMT,CMT,EVID,DV,LAGC\n1,0,100,1,1,.,0.3\n1,1,.,2,0,0.9,0.3\n1,12,80,1,1,.,0.3\n"
                  "1,12.5,.,2,0,1.1,0.3\n2,0,150,1,1,.,0.2\n2,3,.,2,0,1.8,0.2\n")
    # model parameters (estimated): the lag in the event trigger, F in its assignment
    obj = DatasetObjective(model, data, observe={"DV": "CP"}, estimate=["KA=0.1:10", "ALAG=0.1:2", "F1=0.2:1:lin"],
                           sigma={"add": 0.3}, lag={"depot": "ALAG"}, bioavailability={"depot": "F1"})
    _agree(obj, obj.to_petab(tmp_path / "param"), _two_points(obj))
    # a column and a number: folded into the dose times and amounts
    obj = DatasetObjective(model, data, observe={"DV": "CP"}, estimate=["KA=0.1:10", "CL=0.4:40"],
                           sigma={"add": 0.3}, lag={"depot": "LAGC"}, bioavailability={"depot": 0.7})
    _agree(obj, obj.to_petab(tmp_path / "numbers"), _two_points(obj))
    cond = pd.read_csv(tmp_path / "numbers" / "conditions_one_cpt_oral.tsv", sep="\t")
    assert list(cond["dose_depot_1_time"]) == [0.3, 0.2] and list(cond["dose_depot_1_amount"]) == [70, 105]


def test_concentration_species_in_a_compartment_set_per_subject(tmp_path):
    model = qsp.Model.from_antimony("""
model conc
  compartment Vc = 10
  species A in Vc; A = 2
  species B in Vc = 0.5
  k = 0.2
  J: A -> ; k * A
  J2: B -> ; k * B * Vc
end
""")
    data = read_dataset(io.StringIO("ID,TIME,AMT,CMT,EVID,DV,DVID,Vc\n1,0,100,1,1,.,.,12\n1,1,.,1,0,9,1,12\n"
                                    "1,4,.,1,0,7,1,12\n1,6,50,2,1,.,.,12\n1,7,.,2,0,40,2,12\n2,0,150,1,1,.,.,8\n"
                                    "2,3,.,1,0,12,1,8\n"), cmt_map={1: "A", 2: "B"})
    # A dosed at time 0 (on top of its initial value, in the resized Vc), B later (an event divided by Vc);
    # [A] observed as a concentration, B as an amount
    obj = DatasetObjective(model, data, observe={1: "[A]", 2: "B"}, estimate=["k=0.01:2"], sigma={"add": 0.3})
    _agree(obj, obj.to_petab(tmp_path / "conc"), [obj.space.nominal, obj.space.nominal + 0.1])
