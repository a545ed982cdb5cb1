"""Writing a problem as PEtab v1 files: the SBML model, the four tables and the YAML file, checked
with ``petab.lint`` after writing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from .petab_read import PetabTables, library_warnings_off, read_problem

__all__ = ["export_petab", "write_problem"]


def export_petab(objective, directory: str | os.PathLike, x: np.ndarray | None = None) -> str:
    """Write ``objective`` (a :class:`~qsp.fit.petab_problem.PetabObjective`, or a
    :class:`~qsp.fit.dataset_objective.DatasetObjective`: each subject a condition, its doses SBML
    events, see :mod:`qsp.fit.dataset_export`) as a PEtab v1 problem in ``directory``, with the
    estimated parameters' nominal values from ``x`` (on their scales; None: as they are). Returns the
    path of the YAML file."""
    if not hasattr(objective, "to_petab"):
        raise InputError(f"{type(objective).__name__} cannot be written as a PEtab problem (it has no to_petab)")
    return objective.to_petab(directory, x)


def write_problem(tables: PetabTables, directory: str | os.PathLike) -> str:
    """Write ``tables`` to ``directory`` (created if missing) and lint the result; returns the YAML path.

    Raises
    ------
    InputError
        ``directory`` is a file, or the written problem does not pass ``petab.lint``.
    """
    import petab.v1 as petab
    import yaml

    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise InputError(f"{str(d)!r} is a file, not a directory")
    d.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", tables.name) or "problem"
    files = {"model": f"model_{stem}.xml", "conditions": f"conditions_{stem}.tsv",
             "measurements": f"measurements_{stem}.tsv", "observables": f"observables_{stem}.tsv",
             "parameters": f"parameters_{stem}.tsv"}
    (d / files["model"]).write_text(tables.sbml, encoding="utf-8")
    with library_warnings_off():
        petab.write_condition_df(tables.condition_df, d / files["conditions"])
        petab.write_measurement_df(tables.measurement_df, d / files["measurements"])
        petab.write_observable_df(tables.observable_df, d / files["observables"])
        petab.write_parameter_df(tables.parameter_df, d / files["parameters"])
    config = {"format_version": 1, "parameter_file": files["parameters"],
              "problems": [{"sbml_files": [files["model"]], "condition_files": [files["conditions"]],
                            "measurement_files": [files["measurements"]],
                            "observable_files": [files["observables"]]}]}
    path = d / f"{stem}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    read_problem(path)  # lint: raises InputError naming the first problem
    return str(path)
