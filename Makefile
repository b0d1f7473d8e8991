# tap-cfn. On a fresh machine: `make templates` (generate + draw + lint) and `make test`.
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
.PHONY: help setup graphviz templates diagram docs lint-templates scan test lint bench clean

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

graphviz: ## Install Graphviz (the diagram's `dot`) with apt-get when it is missing
	@command -v dot >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; }

templates: $(STAMP) graphviz ## Generate templates/<env>/ and their diagrams, the README config reference; lint
	$(PY) generate.py templates --out $(OUT)
	$(PY) generate.py diagram --dir $(OUT)
	$(PY) generate.py docs
	$(PY) generate.py lint $(OUT)

diagram: $(STAMP) graphviz ## Regenerate the templates, then draw templates/<env>/topology.svg and README.md
	$(PY) generate.py templates --out $(OUT) --quiet
	$(PY) generate.py diagram --dir $(OUT)

docs: $(STAMP) ## Rewrite the config reference in README.md from the config schema
	$(PY) generate.py docs

lint-templates: $(STAMP) ## cfn-lint (informational rules included) on the committed templates
	$(PY) generate.py lint $(OUT)

scan: $(SCAN_STAMP) ## checkov (offline) on every committed template: fails on any failed check
	$(CHECKOV) --skip-download --framework cloudformation --directory $(OUT) --compact --quiet

test: $(STAMP) $(SCAN_STAMP) graphviz ## Run the test suite (behaviour, config errors, CLI, lint and diagram), then the checkov gate
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

# --- Deploying ------------------------------------------------------------------------------------
# Deploy targets for the main Makefile (uses its PY and STAMP; the deployer lives in tap_cfn/deploy/).
#   make deploy ENV=dev SUFFIX=demo PARAMS="FrontendImageTag=1.0.0 ApiGatewayImageTag=1.0.0 ProcessingImageTag=1.0.0"
#   make deploy ... DEPLOY_FLAGS="--plan"       (preview only)   DEPLOY_FLAGS="--yes --region eu-west-1" ...
#   make destroy ENV=dev SUFFIX=demo [DEPLOY_FLAGS=--yes]     make outputs ENV=dev SUFFIX=demo
#   make deploy-local [ENV=dev] [CONFIG=my-platform.yaml]: moto in-process, deploy, print outputs, destroy (dev extra; no AWS account)
# Deploys what templates/<ENV>/ holds (committed, kept fresh by CI); run `make templates` first to change it.
ENV          ?= dev
SUFFIX       ?=
PARAMS       ?=
DEPLOY_FLAGS ?=
.PHONY: deploy destroy outputs deploy-local

deploy: $(STAMP) ## Package, preview and deploy templates/$(ENV) as stack tap-$(SUFFIX)
	@test -n "$(SUFFIX)" || { echo "usage: make deploy ENV=dev SUFFIX=demo PARAMS='FrontendImageTag=... ...'" >&2; exit 2; }
	$(PY) generate.py deploy --env $(ENV) --suffix $(SUFFIX) $(foreach p,$(PARAMS),--param $(p)) $(DEPLOY_FLAGS)

destroy: $(STAMP) ## Delete stack tap-$(SUFFIX) (asks unless DEPLOY_FLAGS=--yes)
	@test -n "$(SUFFIX)" || { echo "usage: make destroy ENV=dev SUFFIX=demo" >&2; exit 2; }
	$(PY) generate.py destroy --env $(ENV) --suffix $(SUFFIX) $(DEPLOY_FLAGS)

outputs: $(STAMP) ## Print the outputs of stack tap-$(SUFFIX)
	@test -n "$(SUFFIX)" || { echo "usage: make outputs ENV=dev SUFFIX=demo" >&2; exit 2; }
	$(PY) generate.py outputs --env $(ENV) --suffix $(SUFFIX)

deploy-local: $(STAMP) ## Start a local AWS (moto), deploy templates/$(ENV) (or CONFIG=FILE), print outputs, tear down
	$(PY) -m tests.support.deploy_local --env $(ENV) $(if $(CONFIG),--config $(CONFIG)) $(foreach p,$(PARAMS),--param $(p))
