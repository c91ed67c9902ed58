# Gatehouse: one Makefile for set-up, checks, synth and benchmarks.
# Every target bootstraps what it needs (.venv with pinned packages, the pinned CDK CLI)
# and is idempotent: a second run installs nothing.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .make
ARCH ?= arm64
STAGE ?= dev

# Nothing phones home and output stays readable: CDK notices, telemetry and version checks
# off; jsii's Node 20 end-of-life banner silenced (Node 20 is what the machines have).
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE :=

.PHONY: help bootstrap lint types unit test layer synth checkov bench local smoke dist example deploy lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(STAMPS):
	@mkdir -p $@

$(STAMPS)/venv: requirements.txt requirements-dev.txt constraints.txt pyproject.toml | $(STAMPS)
	@$(PYTHON_BOOT) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	@echo "==> installing pinned Python packages into $(VENV)"
	@$(PY) -m pip install --quiet --no-input -r requirements-dev.txt -c constraints.txt
	@$(PY) -m pip install --quiet --no-input --no-deps --no-build-isolation -e .
	@touch $@

$(STAMPS)/node: package.json package-lock.json | $(STAMPS)
	@echo "==> installing the pinned aws-cdk CLI (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bootstrap: $(STAMPS)/venv $(STAMPS)/node ## create .venv and node_modules from the pins

lint: $(STAMPS)/venv ## ruff (lint + format check)
	@echo "==> ruff"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check --quiet .

types: $(STAMPS)/venv ## mypy --strict on authorizers/, cdk_app/ and the scripts
	@echo "==> mypy --strict"
	@$(VENV)/bin/mypy

# The host layer (this machine's architecture and Python) is what tests/layer imports from.
layers/build/host/.stamp: $(STAMPS)/venv layers/build.py gatehouse/layer_build.py layers/requirements.txt $(shell find authorizers -name '*.py')
	@$(PY) layers/build.py --host --out layers/build/host --quiet
	@touch $@

layers/build/$(ARCH)/.stamp: $(STAMPS)/venv layers/build.py gatehouse/layer_build.py layers/requirements.txt $(shell find authorizers -name '*.py')
	@$(PY) layers/build.py --arch $(ARCH) --out layers/build/$(ARCH) --quiet
	@touch $@

layer: layers/build/$(ARCH)/.stamp ## build the Lambda layer for ARCH (arm64 default, or x86_64)

unit: bootstrap layers/build/host/.stamp layers/build/arm64/.stamp
	@echo "==> pytest"
	@$(PY) -m pytest --cov --cov-report=term $(PYTEST_ARGS)

test: bootstrap lint types unit smoke example ## lint, types, the test suite, the local smoke run and the example service, offline

# The distribution: one wheel and one sdist of `gatehouse` (version: authorizers.__version__).
dist: $(STAMPS)/venv ## build the gatehouse wheel and sdist into dist/
	@echo "==> building the gatehouse wheel and sdist"
	@rm -rf dist build
	@$(PY) -m build --no-isolation --outdir dist . > $(STAMPS)/dist.log 2>&1 || { cat $(STAMPS)/dist.log; exit 1; }
	@rm -rf build
	@ls dist

# The example service as a team would run it: a fresh virtualenv outside .venv, the built wheel
# with its extras (not the checkout, not PYTHONPATH), the example's own tests from its own
# directory. Rebuilt every run, so it proves the released artefacts on their own.
EXAMPLE := examples/orders-service
EXAMPLE_VENV := .example-venv
example: dist ## test examples/orders-service against the built wheel in a fresh virtualenv
	@echo "==> example service: fresh virtualenv, gatehouse from dist/, its own tests"
	@rm -rf $(EXAMPLE_VENV) && $(PYTHON_BOOT) -m venv $(EXAMPLE_VENV)
	@$(EXAMPLE_VENV)/bin/python -m pip install --quiet --no-input -c constraints.txt \
		"$$(ls dist/gatehouse-*.whl)[all]" 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(EXAMPLE_VENV)/bin/python -m pip install --quiet --no-input -c constraints.txt \
		--find-links dist "./$(EXAMPLE)[test]" 2>&1 | { grep -v "^WARNING: Location" || true; }
	@cd $(EXAMPLE) && PYTHONPATH= ../../$(EXAMPLE_VENV)/bin/python -m pytest -q -p no:cacheprovider

# The architectures the stages in cdk.json use (validated by cdk_app.config): a layer is built
# for each and no other, since each build downloads that architecture's wheels.
STAGE_ARCHES = $(shell $(PY) -c 'import json; from cdk_app.config import load_stage_configs as l; \
	print(*sorted({s.architecture for s in l(json.load(open("cdk.json"))["context"])}))')

synth: bootstrap ## synthesize every stage into cdk.out/ with the pinned CLI (no AWS calls); SYNTH_ARGS="-c stage=dev"
	@for arch in $(STAGE_ARCHES); do $(MAKE) --no-print-directory layer ARCH=$$arch; done
	@npx --no-install cdk synth --quiet $(SYNTH_ARGS) $(SYNTH_STAGE)

CHECKOV_VERSION := 3.3.30
# The checks docs/cdk.md justifies ("checkov"): any other failure fails the target.
CHECKOV_SKIP_prod := CKV_AWS_115,CKV_AWS_116,CKV_AWS_117,CKV_AWS_120,CKV_AWS_59,CKV_AWS_18
CHECKOV_SKIP_dev := $(CHECKOV_SKIP_prod),CKV_AWS_158,CKV_AWS_173,CKV_AWS_26
checkov: synth ## audit the synthesized templates with checkov (its own venv; not part of make test)
	@test -x .venv-checkov/bin/checkov || (python3.11 -m venv .venv-checkov && .venv-checkov/bin/pip install -q "checkov==$(CHECKOV_VERSION)")
	@echo "==> checkov dev"; .venv-checkov/bin/checkov -d cdk.out/assembly-dev --framework cloudformation --compact --quiet --skip-check $(CHECKOV_SKIP_dev)
	@echo "==> checkov prod"; .venv-checkov/bin/checkov -d cdk.out/assembly-prod --framework cloudformation --compact --quiet --skip-check $(CHECKOV_SKIP_prod)

bench: bootstrap layers/build/host/.stamp ## run the benchmarks side by side and print the ratio table
	@$(PY) -m bench

local: $(STAMPS)/venv ## run the whole gateway locally (moto, API Gateway emulator, 4 authorizers); LOCAL_ARGS="--port 9090"
	@$(PY) -m gatehouse local $(LOCAL_ARGS)

smoke: $(STAMPS)/venv ## run the local walkthrough end to end (gatehouse local --smoke, on free ports)
	@echo "==> smoke (gatehouse local --smoke)"
	@$(PY) -m gatehouse local --smoke --port 0 --tls-port 0 --moto-port 0 --state-dir .local/smoke

# Only the stage deployed is synthesized: another stage's refusal (prod's layer without
# bytecode) must not block a dev deploy. Its own variable, so SYNTH_ARGS given on the command
# line adds to it instead of replacing it.
deploy: SYNTH_STAGE = -c stage=$(STAGE)
deploy: synth ## deploy one stage: make deploy STAGE=prod
	@npx --no-install cdk deploy "$(STAGE)/*" --app cdk.out

lock: ## re-resolve constraints.txt from requirements-dev.txt in a scratch venv
	@rm -rf .lock-venv && $(PYTHON_BOOT) -m venv .lock-venv
	@.lock-venv/bin/pip install --quiet -r requirements-dev.txt
	@{ echo "# Full transitive pin set (pip freeze of a clean .venv from requirements-dev.txt)."; \
	   echo "# Regenerate with: make lock"; \
	   .lock-venv/bin/pip freeze --all | grep -v -E '^(pip|setuptools|wheel)=='; } > constraints.txt
	@rm -rf .lock-venv

clean: ## remove build output (keeps .venv and node_modules)
	@rm -rf cdk.out layers/build dist build .example-venv .pytest_cache .mypy_cache .ruff_cache .coverage
