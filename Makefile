# Two commands set everything up on a fresh clone: `make demo` and `make test`.
# Each creates the virtual environment it needs on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast synth notebooks html bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## train FIENet on the synthetic data on CPU and write runs/demo/
	$(VENV)/bin/fienet demo --config configs/demo.yaml

test: $(STAMP)  ## unit tests, then every notebook top to bottom in smoke mode
	FIENET_SMOKE=1 $(PY) -m pytest --nbmake --nbmake-timeout=900 tests notebooks

test-fast: $(STAMP)  ## unit tests only
	$(PY) -m pytest tests

synth: $(STAMP)  ## generate the default synthetic dataset into data/synthetic
	$(VENV)/bin/fienet synth --out data/synthetic

html: $(STAMP)  ## render executed notebooks to HTML under runs/notebooks (not committed)
	$(PY) -m jupyter nbconvert --to html --execute --output-dir runs/notebooks notebooks/*.ipynb

bench: $(STAMP)  ## every benchmark script, side-by-side ratios printed
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf runs .pytest_cache
