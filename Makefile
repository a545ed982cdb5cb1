# Two commands for a fresh machine with only Python: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Test processes (pytest-xdist): the tests that fit or simulate in parallel start their own workers too.
TEST_WORKERS ?= 2

.PHONY: demo test conformance bench clean install

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dask,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(PY) examples/demo.py out/demo
	MPLBACKEND=Agg $(PY) examples/synergy_pembro_bev.py out/demo/synergy
	MPLBACKEND=Agg $(PY) examples/vpop_tritherapy.py out/demo/vpop

test: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadscope tests

conformance: $(STAMP)
	MPLBACKEND=Agg $(PY) -m qsp.conformance ../shared/sbml-test-suite/cases --out out/conformance.csv
	MPLBACKEND=Agg $(PY) -m pytest -q -m slow tests

bench: $(STAMP)
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/ensemble.py
	$(PY) benchmarks/dataset.py
	$(PY) benchmarks/info.py
	$(PY) benchmarks/fit.py
	$(PY) benchmarks/nlme.py

clean:
	rm -rf $(VENV) out .pytest_cache
