# The front door: `make run` starts the whole system locally, `make test` runs every test.
# Both install what they need themselves (venv, Python packages, DynamoDB Local, Chromium).
SHELL := /bin/bash
PY_VERSION ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000
STAMP := $(VENV)/.installed

.PHONY: run close-window invoke reset test test-unit test-integration test-e2e lint format bench build deploy clean import qr

$(STAMP): requirements-dev.txt layers/common/python/requirements.txt functions/viber_webhook/requirements.txt \
		functions/ivr_handler/requirements.txt
	test -x $(PY) || $(PY_VERSION) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

local/node_modules/.installed: local/package.json local/package-lock.json
	cd local && npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: $(STAMP) local/node_modules/.installed

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; nothing is downloaded).
browser:
	@test -x /usr/bin/chromium || { echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: deps
	PORT=$(PORT) $(PY) -m local.run

# Beside a running `make run`: close every window closed by now (ORG=, MONTH=, REDO=1, NOW=<ISO time>).
close-window: $(STAMP)
	ORG="$(ORG)" MONTH="$(MONTH)" NOW="$(NOW)" REDO="$(REDO)" PORT=$(PORT) $(PY) -m local.close_window

# One event to one function of the running stack: make invoke FUNCTION=<LogicalId> EVENT=<event.json>
invoke: $(STAMP)
	@test -n "$(FUNCTION)" || { echo "usage: make invoke FUNCTION=<LogicalId> [EVENT=<event.json>] [PORT=$(PORT)]"; exit 2; }
	$(PY) -m local.invoke --port $(PORT) $(FUNCTION) $(EVENT)

# Beside a running `make run`, which leaves its endpoints in .local/stack.env (docs/billing-import.md).
import: $(STAMP)
	$(if $(DIR),,$(error usage: make import DIR=<folder with the billing CSV files>))
	PYTHONPATH=.:layers/common/python $(PY) -m local.billing_import $(DIR)

# The invoice print run's QR codes: ORG=<organization> (default the city), MONTH=YYYY-MM, OUT=<folder>.
qr: $(STAMP)
	PYTHONPATH=.:layers/common/python $(PY) -m local.print_run $(if $(MONTH),--month $(MONTH)) \
	  $(if $(ORG),--org $(ORG)) $(if $(OUT),--out $(OUT))

reset:
	rm -rf .local/ddb
	@echo "Local DynamoDB data wiped; the next 'make run' seeds the demo again."

test: deps browser
	$(PY) -m pytest -n 2 --dist loadgroup

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit

test-integration: $(STAMP)
	$(PY) -m pytest tests/integration

test-e2e: deps browser
	$(PY) -m pytest tests/e2e

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# aws-sam-cli lives in its own venv: its pins clash with the project's.
SAM_VENV := .sam-venv
$(SAM_VENV)/.installed:
	$(PY_VERSION) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==1.170.0
	touch $@

build: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam build --template-file template.yaml

# Measures the layer and functions as built (an x86_64 sam build of them in .aws-sam/bench-build);
# exits non-zero when a goal is missed. BENCH_ARGS=--rebuild builds again even if nothing changed.
bench: deps $(SAM_VENV)/.installed
	PYTHONPATH=.:layers/common/python $(PY) -m bench.run $(BENCH_ARGS)

deploy: build
	$(SAM_VENV)/bin/sam deploy --guided
	@echo "Then upload the cabinet: aws s3 sync frontend/ s3://<FrontendBucketName>/ --delete"

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .local local/node_modules
