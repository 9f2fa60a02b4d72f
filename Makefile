# Two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-browser lint test-oldest bench accuracy readme setup clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) run_backtest.py $(ARGS)

test: $(STAMP)
	$(PY) -m pytest

# The HTML pages and their scripts (reports/js) in headless Chromium (Selenium); needs Debian's chromium +
# chromium-driver (apt-get install chromium chromium-driver), else the tests skip and say why. Also part of `make test`.
test-browser: $(STAMP)
	$(PY) -m pytest -m browser -rs tests/test_html_browser.py tests/test_html_js.py

# ruff, configured in pyproject.toml
lint: $(STAMP)
	$(PY) -m ruff check .

# The same tests on the oldest versions the project supports (pyproject's floors; CI runs both).
COMPAT := .venv-oldest
OLDEST := "pandas==2.2.*" "numpy==1.26.*" "pyarrow==14.*" "bokeh==3.6.*" "matplotlib==3.7.*" "scipy==1.10.*" "tqdm==4.60.*"
test-oldest:
	test -x $(COMPAT)/bin/python || $(PYTHON) -m venv $(COMPAT)
	$(COMPAT)/bin/python -m pip install --quiet --upgrade pip
	$(COMPAT)/bin/python -m pip install --quiet -e ".[test]" $(OLDEST)
	$(COMPAT)/bin/python -m pytest

bench: $(STAMP)
	$(PY) -m tests.benchmarks.run

accuracy: $(STAMP)
	$(PY) -m tools.readme accuracy real-books

# Regenerate the measured blocks of the README and docs/ (make run output, the ES example, strategy rules,
# accuracy and real-book tables), each in its own file (tools/readme.py: BLOCK_FILES).
readme: $(STAMP)
	$(PY) -m tools.readme make-run es-run strategies accuracy real-books

clean:
	rm -rf $(VENV) $(COMPAT) results .pytest_cache .hypothesis
