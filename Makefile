# Two commands do all the set-up: `make demo` (install, run the demo study, plot it) and
# `make test` (install with test extras, run the whole suite). Both use the active python3.
PYTHON ?= python3
PIP := $(PYTHON) -m pip

.PHONY: install install-dev demo test test-fast bench

install:
	$(PIP) install -q -e .

install-dev:
	$(PIP) install -q -e '.[dev]'

demo: install
	gansweep validate studies/demo.yaml
	gansweep run studies/demo.yaml --force --yes
	gansweep status runs/demo
	gansweep plot runs/demo
	gansweep samples runs/demo
	gansweep report runs/demo

test: install-dev
	$(PYTHON) -m pytest -q

test-fast: install-dev
	$(PYTHON) -m pytest -q -m "not slow"
