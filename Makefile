# Two commands do all the set-up: `make demo` (install, run the demo study, plot it) and
# `make test` (install with test extras, run the whole suite). Both use the active python3:
# make a virtual environment first (README, "Set-up").
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# Three test processes (pytest-xdist) on 2 cores: with two, a 2-core machine still idled 8 % of
# the suite (tests that wait on a timeout or a subprocess); with three it is busy 99 % of the time.
# worksteal evens out the tests' very different lengths. The 25 slowest are listed: where the time goes.
PYTEST := $(PYTHON) -m pytest -q -n 3 --dist worksteal --durations=25

.PHONY: install install-dev demo test test-fast bench

install:
	$(PIP) install -q -e .

install-dev:
	$(PIP) install -q -e '.[dev]'

# Run twice, the second run keeps the first one's results: it continues runs/demo with
# 'gansweep resume' (which runs nothing when every trial is stored) instead of starting over.
demo: install
	gansweep validate studies/demo.yaml
	@if [ -e runs/demo ]; then \
		echo "runs/demo exists: continuing it (gansweep resume runs/demo); its results are kept. To start over: rm -r runs/demo"; \
		gansweep resume runs/demo; \
	else \
		gansweep run studies/demo.yaml; \
	fi
	gansweep status runs/demo
	gansweep plot runs/demo
	gansweep samples runs/demo
	gansweep report runs/demo

test: install-dev
	$(PYTEST)

test-fast: install-dev
	$(PYTEST) -m "not slow"
