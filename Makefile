# tap-cfn. On a fresh machine: `make templates` (generate + lint) and `make test`.
# Every target sets up .venv from pyproject.toml first when it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= templates
# checkov lives in its own environment (its boto3 pin conflicts with ours); the pins are read
# from [tool.tap-cfn.scan] in pyproject.toml.
SCAN_VENV  := .venv-checkov
SCAN_STAMP := $(SCAN_VENV)/.installed
CHECKOV    := $(SCAN_VENV)/bin/checkov

.DEFAULT_GOAL := help
.PHONY: help setup templates lint-templates scan test lint bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	@touch $(STAMP)

setup: $(STAMP) $(SCAN_STAMP) ## Create .venv and .venv-checkov from pyproject.toml (done by every other target)

$(SCAN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		$$($(PYTHON) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['tap-cfn']['scan']['requirements']))")
	@touch $(SCAN_STAMP)

templates: $(STAMP) ## Generate templates/<env>/ for every profile, then lint them with cfn-lint
	$(PY) generate.py templates --out $(OUT)
	$(PY) generate.py lint $(OUT)

lint-templates: $(STAMP) ## cfn-lint (informational rules included) on the committed templates
	$(PY) generate.py lint $(OUT)

scan: $(SCAN_STAMP) ## checkov (offline) on every committed template: fails on any failed check
	$(CHECKOV) --skip-download --framework cloudformation --directory $(OUT) --compact --quiet

test: $(STAMP) $(SCAN_STAMP) ## Run the test suite (behaviour, config errors, CLI, lint gate), then the checkov gate
	$(PY) -m pytest
	$(MAKE) --no-print-directory scan

lint: $(STAMP) ## ruff and mypy on the code
	$(VENV)/bin/ruff check tap_cfn tests generate.py
	$(VENV)/bin/ruff format --check tap_cfn tests generate.py
	$(VENV)/bin/mypy

bench: $(STAMP) ## Wall time and peak memory of generating each profile (median of several runs)
	$(PY) tests/bench.py

clean: ## Remove the virtual environment and caches (not the committed templates)
	rm -rf $(VENV) $(SCAN_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
