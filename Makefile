# tap-cfn. On a fresh machine: `make templates` (generate + draw + lint) and `make test`.
# Every target sets up .venv from pyproject.toml first when it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= templates
# FLAT=1: `make templates` also writes <env>/flat.{json,yaml}, the environment as one template
FLAT   ?=
# checkov lives in its own environment (its boto3 pin conflicts with ours); the pins are read
# from [tool.tap-cfn.scan] in pyproject.toml.
SCAN_VENV  := .venv-checkov
SCAN_STAMP := $(SCAN_VENV)/.installed
CHECKOV    := $(SCAN_VENV)/bin/checkov
# cfn-guard and the AWS Control Tower controls: the npm package pinned in tools/guard/ (package.json
# and its lock), installed into its own folder; nothing is downloaded when the gate runs.
GUARD_DIR   := .guard
GUARD_STAMP := $(GUARD_DIR)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup graphviz templates diagram docs lint-templates scan guard test pytest lint bench clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	@touch $(STAMP)

setup: $(STAMP) $(SCAN_STAMP) $(GUARD_STAMP) ## Create .venv, .venv-checkov and .guard (done by every other target)

$(SCAN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		$$($(PYTHON) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['tap-cfn']['scan']['requirements']))")
	@touch $(SCAN_STAMP)

# Graphviz draws the SVGs; nothing else needs it. Installed only where we may (root with apt-get,
# as in CI); anyone else gets the one line saying how.
GRAPHVIZ_HINT := Graphviz (dot) not found: sudo apt-get install graphviz, or brew install graphviz on macOS

$(GUARD_STAMP): tools/guard/package.json tools/guard/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make guard needs npm (Node.js 18 or later) to install tools/guard/" >&2; exit 2; }
	mkdir -p $(GUARD_DIR)
	cp tools/guard/package.json tools/guard/package-lock.json $(GUARD_DIR)/
	npm ci --prefix $(GUARD_DIR) --omit=peer --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(GUARD_STAMP)

graphviz: ## Install Graphviz (the diagrams' `dot`) when missing: apt-get as root, else print how
	@command -v dot >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; \
	else echo "$(GRAPHVIZ_HINT)" >&2; fi

templates: $(STAMP) ## Generate templates/<env>/ and their diagrams (SVGs when Graphviz is there), the README config reference; lint
	$(PY) generate.py templates --out $(OUT) $(if $(FLAT),--flat)
	$(PY) generate.py diagram --out $(OUT)
	$(PY) generate.py docs
	$(PY) generate.py lint --out $(OUT)

diagram: $(STAMP) graphviz ## Regenerate the templates, then draw templates/<env>/ topology and services (needs Graphviz)
	@command -v dot >/dev/null 2>&1 || exit 1  # the graphviz target said how to get it
	$(PY) generate.py templates --out $(OUT) --quiet
	$(PY) generate.py diagram --out $(OUT)

docs: $(STAMP) ## Rewrite the config reference (from the config schema) and the deploy-time table (from the model) in README.md
	$(PY) generate.py docs

lint-templates: $(STAMP) ## cfn-lint (informational rules included) on the committed templates
	$(PY) generate.py lint --out $(OUT)

scan: $(SCAN_STAMP) ## checkov (offline) on every committed template: fails on any failed check
	$(CHECKOV) --skip-download --framework cloudformation --directory $(OUT) --compact --quiet

guard: $(STAMP) $(GUARD_STAMP) ## cfn-guard with every AWS Control Tower control on every committed template; waivers in tap_cfn/guard.py
	$(PY) -m tap_cfn.guard --out $(OUT)

# The suite and the two gates run side by side (each gate is mostly one process), every one's
# output printed whole when it ends (GNU make 4; macOS's make 3.81 interleaves it); make fails
# when any of them does.
OUTPUT_SYNC := $(if $(filter output-sync,$(.FEATURES)),--output-sync=target)
test: $(STAMP) $(SCAN_STAMP) $(GUARD_STAMP) ## Run the test suite (behaviour, config errors, CLI, lint and diagram) beside the checkov and cfn-guard gates
	$(MAKE) --no-print-directory --jobs=3 $(OUTPUT_SYNC) pytest scan guard

# pytest-xdist: a test worker per core (TEST_JOBS=0 runs them in one process), each handed the
# next test of one queue as it finishes one (--maxschedchunk=1), the longest first
# (tests/conftest.py), so that the workers finish together.
TEST_JOBS ?= auto
pytest: $(STAMP) ## The test suite alone
	$(PY) -m pytest -n $(TEST_JOBS) --maxschedchunk=1

lint: $(STAMP) ## ruff and mypy on the code
	$(VENV)/bin/ruff check tap_cfn tests generate.py
	$(VENV)/bin/ruff format --check tap_cfn tests generate.py
	$(VENV)/bin/mypy

bench: $(STAMP) ## Generation time per profile and at scale, make-templates timings (cold/warm/unchanged), the deploy-time model
	$(PY) tests/bench.py

clean: ## Remove the virtual environment and caches (not the committed templates)
	rm -rf $(VENV) $(SCAN_VENV) $(GUARD_DIR) .pytest_cache .mypy_cache .ruff_cache .hypothesis .cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# --- Deploying ------------------------------------------------------------------------------------
# Deploy targets for the main Makefile (uses its PY and STAMP; the deployer lives in tap_cfn/deploy/).
#   make deploy ENV=dev SUFFIX=demo PARAMS="FrontendImageTag=1.0.0 ApiGatewayImageTag=1.0.0 ProcessingImageTag=1.0.0"
#   make deploy ... DEPLOY_FLAGS="--plan"       (preview only)   DEPLOY_FLAGS="--yes --region eu-west-1" ...
#   make destroy ENV=dev SUFFIX=demo [DEPLOY_FLAGS=--yes]     make outputs ENV=dev SUFFIX=demo
#   make deploy-local [ENV=dev] [CONFIG=my-platform.yaml]: moto in-process, deploy, print outputs, destroy (dev extra; no AWS account)
# Deploys what $(OUT)/<ENV>/ holds (templates/ by default: committed, kept fresh by CI); run
# `make templates` (same OUT) first to change it.
ENV          ?= dev
SUFFIX       ?=
PARAMS       ?=
DEPLOY_FLAGS ?=
.PHONY: deploy destroy outputs deploy-local

deploy: $(STAMP) ## Package, preview and deploy $(OUT)/$(ENV) (templates/dev by default) as stack <project>-$(SUFFIX)
	@test -n "$(SUFFIX)" || { echo "usage: make deploy ENV=dev SUFFIX=demo PARAMS='FrontendImageTag=... ...'" >&2; exit 2; }
	$(PY) generate.py deploy --env $(ENV) --suffix $(SUFFIX) --out $(OUT) $(foreach p,$(PARAMS),--param $(p)) $(DEPLOY_FLAGS)

destroy: $(STAMP) ## Delete stack <project>-$(SUFFIX) (asks unless DEPLOY_FLAGS=--yes)
	@test -n "$(SUFFIX)" || { echo "usage: make destroy ENV=dev SUFFIX=demo" >&2; exit 2; }
	$(PY) generate.py destroy --env $(ENV) --suffix $(SUFFIX) --out $(OUT) $(DEPLOY_FLAGS)

outputs: $(STAMP) ## Print the outputs of stack <project>-$(SUFFIX)
	@test -n "$(SUFFIX)" || { echo "usage: make outputs ENV=dev SUFFIX=demo" >&2; exit 2; }
	$(PY) generate.py outputs --env $(ENV) --suffix $(SUFFIX) --out $(OUT)

deploy-local: $(STAMP) ## Start a local AWS (moto), deploy $(OUT)/$(ENV) (or CONFIG=FILE), print outputs, tear down
	$(PY) -m tests.support.deploy_local --env $(ENV) --out $(OUT) $(if $(CONFIG),--config $(CONFIG)) $(foreach p,$(PARAMS),--param $(p))
