"""The tritherapy synergy example runs without the eradication rule; on its grid the rule would change nothing.

No typical-animal TV_tot of the example's 12 x 12 grid falls below the rule's 10 uL between day 7 and day 25
(the response day), so the surface, the fronts and the NSGA-II search are the same with ``cure_on`` = 0 or 1.
"""

import numpy as np
import pandas as pd
import pytest

import qsp
from qsp import ensemble, synergy


@pytest.fixture(scope="module")
def example():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "synergy_tritherapy.py"
    spec = importlib.util.spec_from_file_location("synergy_tritherapy_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_grid_point_falls_below_the_cure_volume(example):
    model = qsp.load_model("tritherapy")
    assert model.parameters.loc["cure_on", "value"] == 0  # the example relies on the shipped default
    d1 = synergy.dose_grid(0.03, 3.0, 12, scale="log")
    d2 = synergy.dose_grid(2.0, 40.0, 12, scale="log")
    regimens = {f"{a:g}x{b:g}": example.ANTI_PDL1.part(a)[0] + example.DDRI.part(b)[0] for a in d1 for b in d2}
    res = ensemble.run(model, pd.DataFrame({"cure_on": [0.0]}), regimens=regimens, params=example.RT,
                       metrics=["nadir:TV_tot"], t_start=0, t_end=25, times=np.linspace(7, 25, 73),
                       backend="serial")
    assert (res.table["status"] == "ok").all()
    assert res.table["nadir:TV_tot"].min() > 10.0
