# Every target sets itself up: a fresh machine needs only Python 3.13 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
# The first python3.13 that actually runs (a pyenv shim exists even when 3.13 is not selected).
PYTHON313 ?= $(shell for p in $$(command -v python3.13) $$HOME/.pyenv/versions/3.13*/bin/python3.13; do "$$p" -c '' 2>/dev/null && echo "$$p" && break; done)
ARCH ?= x86_64
PORT ?= 3000
CONFIG_ENV ?= dev
AWS_SAM := .aws-sam
BUILD_DIR = $(AWS_SAM)/$(ARCH)/build

export SAM_CLI_TELEMETRY := 0
export AWS_EC2_METADATA_DISABLED := true
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help run test lint format typecheck validate build unit e2e events load-catalog deploy clean bench reconcile

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml uv.lock
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is required (python3.13 on PATH or under pyenv)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON313) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --compile-bytecode --python $(BIN)/python --quiet
	@touch $@

run: $(STAMP) ## serve the API on http://127.0.0.1:3000 (PORT=... for another) with embedded AWS, demo data, no Docker
	PORT=$(PORT) $(BIN)/python -m devstack

.PHONY: demo simulate trigger deliveries resend tail
demo: $(STAMP) ## local stack on a free port (or PORT=...), every Bolt simulator scenario, timelines and final orders
	$(BIN)/python -m devstack.simulator.demo $(if $(filter environment command line,$(origin PORT)),--port $(PORT))

# The secret goes through the environment, never on a command line make would echo.
simulate: export BOLT_SIGNING_SECRET := $(or $(SECRET),$(BOLT_SIGNING_SECRET))
simulate: $(STAMP) ## Bolt simulator vs a stage: make simulate URL=https://... [SECRET=...|SECRET_ID=bolt-merchant/dev] [ARGS=...]
	@test -n "$(URL)" || { echo "usage: make simulate URL=<ApiUrl output> [SECRET=... | SECRET_ID=...] [ARGS=...]"; exit 2; }
	$(BIN)/python -m devstack.simulator --base-url $(URL) $(if $(SECRET_ID),--secret-id $(SECRET_ID)) $(ARGS)

# Bolt tools for the running local stack (devstack/simulator/tools.py); PORT as for make run.
trigger: $(STAMP) ## one signed webhook from an order's state: make trigger TYPE=capture ORDER=BO-... [AMOUNT=cents]
	@test -n "$(TYPE)" -a -n "$(ORDER)" || { echo "usage: make trigger TYPE=<webhook type> ORDER=<order id> [AMOUNT=<cents>]"; exit 2; }
	@PORT=$(PORT) $(BIN)/python -m devstack.simulator trigger $(TYPE) --order $(ORDER) $(if $(AMOUNT),--amount $(AMOUNT))

deliveries: $(STAMP) ## the hooks and webhooks the local stack received, with status and result
	@PORT=$(PORT) $(BIN)/python -m devstack.simulator deliveries

resend: $(STAMP) ## send one delivery again, same bytes and headers: make resend ID=<delivery id>
	@test -n "$(ID)" || { echo "usage: make resend ID=<delivery id, from make deliveries>"; exit 2; }
	@PORT=$(PORT) $(BIN)/python -m devstack.simulator resend $(ID)

tail: $(STAMP) ## follow the local stack's deliveries as they arrive (Ctrl-C stops)
	@PORT=$(PORT) $(BIN)/python -m devstack.simulator tail

# sam local runs each function in a container; devstack/sam_local.py says plainly when no runtime answers.
.PHONY: invoke start-api
invoke: $(STAMP) ## sam local invoke (needs Docker): make invoke FUNCTION=ShippingFunction EVENT=events/shipping/universal_valid.json
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<logical id, e.g. ShippingFunction> EVENT=<events/.../*.json>"; exit 2; }
	@$(BIN)/python -m devstack.sam_local
	$(MAKE) --no-print-directory build
	$(BIN)/sam local invoke -t $(BUILD_DIR)/template.yaml $(FUNCTION) -e $(EVENT) --env-vars events/env.local.json

start-api: $(STAMP) ## sam local start-api on PORT (needs Docker) against the dev stage's tables (events/env.local.json)
	@$(BIN)/python -m devstack.sam_local
	$(MAKE) --no-print-directory build
	$(BIN)/sam local start-api -t $(BUILD_DIR)/template.yaml --env-vars events/env.local.json --port $(PORT)

test: lint typecheck validate scan build unit ## every check: lint, types, template, IaC scan, sam build, all tests

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy (strict) on the layer, the handlers and the local stack
	$(BIN)/mypy layers/shared/python/bolt_merchant functions devstack

validate: $(STAMP) ## sam validate --lint and cfn-lint
	AWS_DEFAULT_REGION=us-east-1 $(BIN)/sam validate --lint
	$(BIN)/cfn-lint template.yaml

# checkov pins an older boto3 than SAM CLI, so it has its own environment (pyproject.toml's iac group, in uv.lock).
IAC := $(VENV)/iac
IAC_STAMP := $(IAC)/.synced
$(IAC_STAMP): pyproject.toml uv.lock $(STAMP)
	UV_PROJECT_ENVIRONMENT=$(IAC) $(BIN)/uv sync --frozen --no-default-groups --group iac --python $(BIN)/python --quiet
	@touch $@

.PHONY: scan
scan: $(IAC_STAMP) ## checkov on template.yaml; each skipped check says why in .checkov.yaml
	$(IAC)/bin/checkov --config-file .checkov.yaml

# One folder per architecture (.aws-sam/$(ARCH)/: build/, cache/ and SAM's build.toml, which SAM keeps beside the
# build folder): a cached layer built for one architecture can never be copied into the other's build. The build
# then fails if any extension module in it is not for ARCH (devstack/build_arch.py).
build: $(STAMP) ## sam build for ARCH (x86_64 default, ARCH=arm64 for Graviton) into .aws-sam/ARCH/build
	@case "$(ARCH)" in x86_64|arm64) ;; *) echo "ARCH must be x86_64 or arm64, not $(ARCH)"; exit 2;; esac
	LAYER_ARCH=$(ARCH) $(BIN)/sam build --parameter-overrides Architecture=$(ARCH) \
		--build-dir $(BUILD_DIR) --cache-dir $(AWS_SAM)/$(ARCH)/cache
	$(BIN)/python -m compileall -q --invalidation-mode unchecked-hash $(BUILD_DIR)
	$(BIN)/python -m devstack.build_arch check $(ARCH) $(BUILD_DIR)

unit: $(STAMP) ## pytest: layer units, handlers under moto, end-to-end over the local stack
	$(BIN)/python -m pytest

e2e: $(STAMP) ## only the end-to-end tests: the local stack over HTTP (tests/e2e)
	$(BIN)/python -m pytest tests/e2e

bench: build ## benchmark table (cold init, warm overhead, AWS calls, sizes, local stack); BENCH_ARGS=--quick
	BENCH_BUILD_DIR=$(BUILD_DIR) $(BIN)/python -m devstack.bench $(BENCH_ARGS)

.PHONY: bench-contention
bench-contention: $(STAMP) ## order.create on one hot product, 1 vs 8 stock shards, under injected DynamoDB contention
	$(BIN)/python -m devstack.bench contention $(CONTENTION_ARGS)

.PHONY: reliability
reliability: $(STAMP) ## reliability suite and its figures table (RELIABILITY.md); RELIABILITY_ARGS=--update|--scale 10
	$(BIN)/python -m devstack.reliability $(RELIABILITY_ARGS)

reconcile: $(STAMP) ## reconcile now: make reconcile [STACK=name] [ORDER=id] [AHEAD=seconds]; no STACK: the local stack
	$(BIN)/python -m devstack.reconcile $(if $(STACK),--stack-name $(STACK),--local-url http://127.0.0.1:$(PORT)) \
		$(if $(ORDER),--order-id $(ORDER)) $(if $(AHEAD),--ahead $(AHEAD))

events: $(STAMP) ## regenerate events/ (signed API events and the fan-out's stream and queue events)
	$(BIN)/python -m devstack.make_events
	$(BIN)/python -m devstack.make_consumer_events

load-catalog: $(STAMP) ## sync data/demo-catalog.json into a stage: make load-catalog STACK=name [ARGS=--dry-run|--set-stock]
	@test -n "$(STACK)" || { echo "usage: make load-catalog STACK=<stack name> [ARGS=--dry-run] [ARGS=--set-stock]"; exit 2; }
	$(BIN)/python -m devstack.load_catalog --stack-name $(STACK) $(ARGS)

# The stage's Architecture parameter (samconfig.toml) must be the build's, and sam deploy is given that build's
# template: without --template-file it would read .aws-sam/build, which no build writes any more.
deploy: $(STAMP) ## build for ARCH and sam deploy it (CONFIG_ENV=dev|prod; ARCH must match the stage's Architecture)
	$(BIN)/python -m devstack.build_arch check-stage $(CONFIG_ENV) $(ARCH)
	$(MAKE) --no-print-directory build ARCH=$(ARCH)
	$(BIN)/sam deploy --config-env $(CONFIG_ENV) --template-file $(BUILD_DIR)/template.yaml

clean: ## remove the virtualenv and build output
	rm -rf $(VENV) .aws-sam
