# The verbs a newcomer needs. `make demo` runs the whole system; `make test` runs the full suite.
# Both create .venv on first use. PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when set;
# otherwise embedded servers are started under .data/ (tests first try the usual local ports).

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RUN    := $(PY) -m tradingsite.embedded run
CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test lint format bench fuzz install browser debian-tools check-steps clean-data

install: $(STAMP)

$(STAMP): pyproject.toml package.json package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[ml,dev]'
	# kiteconnect pins autobahn 19.11.2, which daphne 4 rejects: its needs are in pyproject.toml.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps kiteconnect==5.2.2
	# The chart library for the trader's pages, from npm; Django serves it as a static file.
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

# Browser tests and the page-load bench drive Debian's Chromium through Playwright (never
# `playwright install`): installed from apt when it is missing.
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "$(CHROMIUM) is missing and installing it needs root: apt-get install chromium" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

# Debian tools the tests run, from apt when missing: promtool (package prometheus) checks the alert rules;
# pgbackrest archives and restores a PostgreSQL cluster to a point in time.
DEBIAN_TOOLS := promtool:prometheus pgbackrest:pgbackrest
debian-tools:
	@missing=""; for pair in $(DEBIAN_TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair##*:}"; done; \
	[ -z "$$missing" ] || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "missing:$$missing; installing them needs root: apt-get install$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; }

demo: $(STAMP)
	$(RUN) -- $(PY) manage.py demo

test: $(STAMP) browser debian-tools
	$(RUN) --prefer-local --data-dir .data/test -- $(MAKE) --no-print-directory check-steps

# Runs inside `make test`, once PostgreSQL and Redis are reachable: linters (Python, JavaScript), the
# JavaScript modules' unit tests (node --test), Django's checks, then the Python suite.
check-steps:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --no-install eslint .
	node --test tests/js/
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	npx --no-install eslint .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP) browser
	$(RUN) --prefer-local --data-dir .data/test -- sh -c 'for b in bench/[!_]*.py; do $(PY) $$b || exit 1; done'

# Coverage-guided fuzzing (atheris) of the parsers of outside input, tests/fuzz: each target for FUZZ_SECONDS,
# one after another; a crash stops the run and its input is kept in .data/fuzz/crashes/.
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(RUN) --prefer-local --data-dir .data/test -- $(PY) -m tests.fuzz.run all --seconds $(FUZZ_SECONDS)

clean-data:
	rm -rf .data
