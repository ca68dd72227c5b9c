# imagegen — the two commands: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test bench bench-large mutants venv dev-deps assets setup clean messages docker-test

run: setup ## set up everything and serve on http://$(HOST):$(PORT) (web + worker)
	exec $(PY) manage.py serve --host "$(HOST)" --port "$(PORT)"

# The fast tests run on two pytest-xdist workers (each with its own test database and data directory); the
# real-process and browser tests on two workers too, a test module on each (its stack and browser are the
# module's; every stack has its own ports, data directory, PostgreSQL database and Redis db, and every wait
# polls a condition); the fault tests, which kill and starve processes on purpose, one at a time after them.
# With PYTEST_ARGS the suite runs once, one test at a time, with those arguments.
FAST := not processes and not browser and not faults
test: dev-deps assets ## install the dev dependencies, check the import contracts (.importlinter), run the whole suite
	$(VENV)/bin/lint-imports --no-cache
ifeq ($(strip $(PYTEST_ARGS)),)
	$(PY) -m pytest -m "$(FAST)" -n 2
	$(PY) -m pytest -m "not ($(FAST)) and not faults" -n 2 --dist loadfile
	$(PY) -m pytest -m "faults"
else
	$(PY) -m pytest $(PYTEST_ARGS)
endif

bench: dev-deps assets ## run the benchmarks (about 12 minutes) and rewrite BENCHMARKS.md
	@command -v wrk >/dev/null || { echo "the read-path benchmark needs wrk (apt-get install wrk)"; exit 1; }
	$(PY) benchmarks/run.py

bench-large: dev-deps assets ## prompt search at 1,000,000 tasks on SQLite and PostgreSQL (about 15 minutes); its section of BENCHMARKS.md
	$(PY) benchmarks/run.py --large

# Mutation testing of the core (TESTING.md); slow and CPU-heavy, so not part of `make test`.
# MUTANTS="task-run planning" limits it to some targets; MUTANTS_CHILDREN=N runs N mutants at once;
# MUTANTS_ARGS=--rerun-survivors runs again only what the last run did not kill (after writing tests).
mutants: $(VENV)/.mutants assets
	$(PY) scripts/mutants.py $(MUTANTS) $(MUTANTS_ARGS)

$(VENV)/.mutants: $(VENV)/.dev requirements/mutants.txt
	$(PY) -m pip install -q -r requirements/mutants.txt
	touch $@

# The production stack (docker/) built and run for real with podman + podman-compose: images (stand-ins from
# a debootstrapped Debian 13 unless IMAGEGEN_*_IMAGE name others), compose up on 127.0.0.1, every check of
# docker/tests/test_compose_stack.py, then everything it made removed. Needs root, podman, runc, debootstrap.
docker-test: dev-deps
	$(PY) -m pytest docker/tests -p no:cacheprovider -q -s $(PYTEST_ARGS)

setup: venv assets
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py createcachetable
	$(PY) manage.py collectstatic --noinput -v 0

$(VENV)/.created:
	@py=$$(bin/find-python) || exit 1; \
	echo "Using $$py ($$($$py --version))"; \
	rm -rf $(VENV); $$py -m venv $(VENV) && $(PY) -m pip install -q --upgrade pip && touch $@

$(VENV)/.base: $(VENV)/.created requirements/base.txt
	$(PY) -m pip install -q -r requirements/base.txt
	touch $@

$(VENV)/.dev: $(VENV)/.base requirements/dev.txt
	$(PY) -m pip install -q -r requirements/dev.txt
	touch $@

venv: $(VENV)/.base
dev-deps: $(VENV)/.dev

# Front-end libraries come from npm, pinned by package-lock.json, and are copied into static/vendor/.
assets: static/vendor/.built
static/vendor/.built: package.json package-lock.json scripts/build-assets.mjs
	@command -v npm >/dev/null || { echo "npm is needed to build the front-end assets (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	node scripts/build-assets.mjs
	touch $@

clean:
	rm -rf $(VENV) node_modules static/vendor

I18N_IGNORE := --ignore=.venv --ignore=mutants --ignore=node_modules --ignore=var --ignore=static/vendor --ignore=test-artifacts
messages: venv ## refresh the Chinese catalogue after changing user-facing strings, then compile it
	$(PY) manage.py makemessages -l zh_Hans $(I18N_IGNORE) --no-obsolete
	$(PY) manage.py makemessages -d djangojs -l zh_Hans $(I18N_IGNORE) --no-obsolete
	$(PY) manage.py compilemessages -l zh_Hans $(I18N_IGNORE)
