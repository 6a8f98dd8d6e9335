# Three commands set everything up on a fresh clone: `make demo`, `make test` and `make lab`.
# Each creates the virtual environment it needs on first use (and, in a git clone, the nbstripout
# filter that keeps notebook outputs out of git).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lab synth notebooks html bench git-filter clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory git-filter
	touch $(STAMP)

# .gitattributes sends every *.ipynb through the filter named nbstripout; git's config (not
# versioned) says what that filter runs. Cell ids are kept so that stripping changes nothing else.
# Setting the same values again is harmless, and outside a git checkout there is nothing to do.
NBSTRIPOUT := "$(abspath $(PY))" -m nbstripout --keep-id
git-filter:  ## strip notebook outputs on `git add`, whatever the editor saved (needs nbstripout in .venv)
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean '$(NBSTRIPOUT)' && \
	  git config filter.nbstripout.smudge cat && \
	  git config filter.nbstripout.required true && \
	  git config diff.ipynb.textconv '$(NBSTRIPOUT) --textconv' && \
	  echo "git filter nbstripout: notebook outputs stay out of commits"; \
	fi

demo: $(STAMP)  ## train FIENet on the synthetic data on CPU and write runs/demo/
	$(VENV)/bin/fienet demo --config configs/demo.yaml

test: $(STAMP)  ## unit tests, then every notebook top to bottom in smoke mode
	FIENET_SMOKE=1 $(PY) -m pytest --nbmake --nbmake-timeout=900 tests notebooks

test-fast: $(STAMP)  ## unit tests only (not the notebooks, not the browser check)
	$(PY) -m pytest -m "not browser" tests

# JupyterLab refuses to run as root unless told; LAB_ARGS passes more options (e.g. --port=8890).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
lab: $(STAMP)  ## JupyterLab on notebooks/ from .venv; open the http://localhost URL it prints
	@echo "Starting JupyterLab on notebooks/; open the URL with the token printed below (Ctrl-C twice stops it)."
	$(PY) -m jupyter lab --ServerApp.root_dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS)

synth: $(STAMP)  ## generate the default synthetic dataset into data/synthetic
	$(VENV)/bin/fienet synth --out data/synthetic

# The coalescing step runs after execution: a progress bar's redraws (carriage returns) become
# its last state, as JupyterLab shows it, instead of one line per redraw.
html: $(STAMP)  ## render executed notebooks to HTML under runs/notebooks (not committed)
	$(PY) -m jupyter nbconvert --to html --execute --output-dir runs/notebooks \
	  --HTMLExporter.preprocessors=nbconvert.preprocessors.CoalesceStreamsPreprocessor \
	  --CoalesceStreamsPreprocessor.enabled=True notebooks/*.ipynb

bench: $(STAMP)  ## every benchmark script, side-by-side ratios printed
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf runs .pytest_cache
