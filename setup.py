"""Package discovery (the rest of the metadata is in pyproject.toml).

Every package under ``qsp/`` is found automatically, so a new analysis subpackage ships without
editing this file; the shipped models live in ``sbml_models/`` and install as ``qsp.sbml_models``.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["qsp", "qsp.*"]) + ["qsp.sbml_models"],
    package_dir={"qsp.sbml_models": "sbml_models"},
)
