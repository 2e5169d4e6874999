# OrderFlow — two commands: `make run` to start, `make test` to test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
ORDERFLOW_HOST ?= 127.0.0.1
ORDERFLOW_PORT ?= 8000
export ORDERFLOW_HOST ORDERFLOW_PORT

.PHONY: run test install install-test migrate seed bench lint clean

$(PY):
	$(PYTHON) -c 'import sys; sys.exit("OrderFlow needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Start web + worker + beat on the embedded default (or DATABASE_URL / CELERY_BROKER_URL).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Admin      http://$(ORDERFLOW_HOST):$(ORDERFLOW_PORT)/admin/"
	@echo "  API docs   http://$(ORDERFLOW_HOST):$(ORDERFLOW_PORT)/api/docs/"
	@echo "  Health     http://$(ORDERFLOW_HOST):$(ORDERFLOW_PORT)/healthz"
	@echo "  Ctrl-C stops web, worker and beat."
	@echo ""
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	ORDERFLOW_WEBHOOK_ALLOW_PRIVATE="$${ORDERFLOW_WEBHOOK_ALLOW_PRIVATE-127.0.0.1,::1,localhost}" \
	exec $(VENV)/bin/honcho -f Procfile start

## Install the test extras and run the whole suite.
test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

## ruff, then the import contracts of pyproject.toml ([tool.importlinter]); both always run.
lint: install-test
	rc=0; \
	$(VENV)/bin/ruff check . || rc=1; \
	$(VENV)/bin/lint-imports --no-cache || rc=1; \
	exit $$rc

bench: install-test
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
