# Two commands do everything on a fresh machine:
#   make serve   -> create/reuse .venv, install, serve the explorer on 127.0.0.1:$(PORT)
#   make test    -> create/reuse .venv, install with dev extras, run the whole suite
#   make test-fast -> for development: no browser, no torch trainings, no notebooks, no slow
#                     tests, no tests that start other processes
PORT ?= 5006
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch pin: here pip resolves it to a CPU-only wheel on local disk (no CUDA packages);
# elsewhere it is an ordinary PyPI release
TORCH_PIN ?= torch==2.13.0
STAMP_APP := $(VENV)/.installed-app
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: serve test test-fast install install-dev lab notebooks bench lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip setuptools wheel

$(STAMP_APP): pyproject.toml | $(PY)
	$(PY) -m pip install "$(TORCH_PIN)" -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(PY)
	$(PY) -m pip install "$(TORCH_PIN)" -e ".[dev]"
	touch $(STAMP_APP) $@

install: $(STAMP_APP)
install-dev: $(STAMP_DEV)

serve: $(STAMP_APP)
	$(PY) -m panel serve explorer --address 127.0.0.1 --port $(PORT) --warm \
		--allow-websocket-origin 127.0.0.1:$(PORT) --allow-websocket-origin localhost:$(PORT) \
		--num-procs 1 --check-unused-sessions 2000 --unused-session-lifetime 10000

# Browser tests run in a second pytest process (Playwright's event loop and Bokeh's client clash
# in one process); they skip with a clear message where /usr/bin/chromium is missing.
test: $(STAMP_DEV)
	$(PY) -m pytest -q tests -m "not ui" -p no:playwright
	$(PY) -m pytest -q --doctest-modules core -p no:playwright
	$(PY) -m pytest -q tests -m ui; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ] || exit $$rc

# The quick loop while developing: what needs no browser, no torch training, no notebook, no
# long run and no other process (markers ui, torch, dask, slow, processes), on every core
# (pytest-xdist); `make test` still runs everything, in one process. Python's bytecode cache
# is switched on for it and kept under .venv, out of the source tree (an environment that sets
# PYTHONDONTWRITEBYTECODE makes every worker compile every module and re-rewrite every test's
# asserts on each run).
test-fast: $(STAMP_DEV)
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache \
		$(PY) -m pytest -q tests \
		-m "not ui and not torch and not dask and not slow and not processes" \
		--ignore=tests/test_notebooks.py -p no:playwright -n auto

# JupyterLab on the notebooks (not part of the two quick-start commands)
lab: $(STAMP_DEV)
	$(PY) -m pip install -e ".[dev,notebooks]" "$(TORCH_PIN)"
	$(VENV)/bin/jupyter lab --no-browser --ip 127.0.0.1 notebooks/

# Execute every notebook in full mode and store it with its outputs (long: run on a committed
# tree; NB="03 05" stores only those). The README's notebook table quotes the printed times.
notebooks: $(STAMP_DEV)
	nice -n 10 $(PY) scripts/store_notebooks.py $(NB)

# Every benchmark with its quick settings, one after the other (each prints its tables, then a
# summary); BENCH="grid surrogate" runs only those, `$(PY) -m benchmarks --list` lists them.
bench: $(STAMP_DEV)
	nice -n 10 $(PY) -m benchmarks $(BENCH)

lint: $(STAMP_DEV)
	$(PY) -m ruff check core explorer tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
