# Finestreta: `make run` starts the demo, `make test` proves it. Nothing else to install by hand.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Base of the links the demo sends and of its webhooks' address (the development receiver).
SITE_URL ?= http://127.0.0.1:$(PORT)
# PostgreSQL used by the second pass of `make test` (trust auth on this kind of machine).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/finestreta
# Test processes per pass (pytest-xdist): most tests wait on servers, browsers and peers, so two
# halve the time even on two cores. PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: sso-demo run test setup system-deps lint typecheck i18n-check messages test-sqlite test-postgres soak clean

$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	@$(PYTHON) -c "import sys; assert sys.version_info[:2] == (3, 11)" 2>/dev/null || { echo "Python 3.11 is needed (found: $(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c requirements/constraints.txt -e ".[dev]"
	@touch $@

setup: $(VENV)/.installed system-deps
	@mkdir -p var/static var/media
	$(PY) manage.py compilemessages --ignore=.venv -v 0

# gettext (msgfmt, xgettext) for the catalogues; Debian's Chromium for the browser tests; coturn,
# the real TURN server of the video tests; ClamAV's clamd, the real virus scanner of the file tests
# (they give it a signature database of their own: the official one is downloaded from the network);
# SimpleSAMLphp (with PHP) as the real SAML 2.0 identity provider of the single-sign-on tests.
system-deps:
	@command -v msgfmt >/dev/null && command -v xgettext >/dev/null || scripts/apt-install gettext
	@command -v chromium >/dev/null || scripts/apt-install chromium
	@command -v turnserver >/dev/null || scripts/apt-install coturn
	@command -v clamd >/dev/null || test -x /usr/sbin/clamd || scripts/apt-install clamav-daemon
	@test -d /usr/share/simplesamlphp/www && php -m 2>/dev/null | grep -qi '^xml$$' || scripts/apt-install simplesamlphp php-xml php-cli

run: setup
	$(PY) manage.py migrate --noinput -v 0
	SITE_URL=$(SITE_URL) $(PY) manage.py load_demo
	DEBUG=1 SITE_URL=$(SITE_URL) $(PY) manage.py serve --port $(PORT)

# `make sso-demo` (beside `make run`): real SAML and OIDC identity providers for the demo.
sso-demo: setup
	$(PY) manage.py migrate --noinput -v 0
	DEBUG=1 $(PY) manage.py load_demo
	DEBUG=1 $(PY) scripts/sso_demo.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -q -c pyproject.toml -r finestreta scripts
	$(PY) scripts/audit_dependencies.py

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy finestreta

i18n-check: setup
	$(PY) scripts/check_translations.py

messages: $(VENV)/.installed
	$(PY) manage.py makemessages --all --ignore=.venv --ignore=var --no-obsolete --no-location
	$(PY) manage.py compilemessages --ignore=.venv -v 0

test-sqlite: setup
	FINESTRETA_TESTING=1 DATABASE_URL= $(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-postgres: setup
	@if $(PY) scripts/wait_for_services.py --postgres "$(TEST_POSTGRES_URL)"; then \
	  FINESTRETA_TESTING=1 DATABASE_URL="$(TEST_POSTGRES_URL)" $(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then echo "CI: PostgreSQL is required and unreachable"; exit 1; \
	else echo "PostgreSQL unreachable at $(TEST_POSTGRES_URL): the PostgreSQL pass did not run (CI runs it)."; fi

# The soak suite (docs/operations.md): the fault tests (Redis and PostgreSQL restarted, a web
# process killed, each on engines of its own), the load scenarios at a small size (invariants
# only) and the backup drill. The test harness's database is TEST_POSTGRES_URL. Not in
# `make test` (pyproject's addopts leave out `-m soak`); .ci/run runs both.
soak: setup
	FINESTRETA_TESTING=1 DATABASE_URL="$(TEST_POSTGRES_URL)" $(VENV)/bin/pytest -m soak $(PYTEST_ARGS) tests/production

test: setup lint typecheck i18n-check
	$(PY) manage.py makemigrations --check --dry-run -v 1
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
