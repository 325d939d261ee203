# Set-up, examples and tests. `make examples` and `make test` work on a fresh
# clone with Python 3.11+: they create .venv, install the grader and, where the
# machine lacks it and we are allowed to, Debian's bubblewrap.

export NO_MKDOCS_2_WARNING = 1

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup system-tools test-tools examples test test-fast gates docs compat clean

setup: $(STAMP) system-tools

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); run: make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# System packages, installed with apt where missing and allowed (root, or sudo):
# bubblewrap isolates student code (without it the grader falls back to a plain
# child and says so in every report); chromium renders the class report in the
# tests (without it that test is skipped); redis-server runs the queue's tests and postgresql
# the grading service's (both started by the tests themselves on loopback ports, the
# PostgreSQL cluster in a temporary folder). Pairs are command:package.
SANDBOX_PACKAGES = bwrap:bubblewrap
TEST_PACKAGES    = $(SANDBOX_PACKAGES) chromium:chromium redis-server:redis-server pg_ctlcluster:postgresql

define apt_install
	@missing=""; for pair in $(1); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null; \
	  else echo "note: not installed:$$missing (bubblewrap: grading runs without the sandbox; chromium: the report.html test is skipped; redis-server: the queue tests are skipped; postgresql: the service's PostgreSQL tests are skipped)"; fi; \
	fi
endef

system-tools:
	$(call apt_install,$(SANDBOX_PACKAGES))

test-tools:
	$(call apt_install,$(TEST_PACKAGES))

# Grade the bundled examples: every assignment's untouched starter and its reference solution
# (reports/<assignment>-starter.json and -solution.json); signals-profile's starter is
# student_template/. The summary line of each is printed. Then the same examples go through the
# grading service (grader serve on SQLite in build/service/, grader submit --wait):
# reports/service-<example>.json.
examples: setup
	rm -rf build/examples && mkdir -p build/examples reports
	@set -e; for dir in assignments/*/; do \
	  name=$$(basename "$$dir"); starter="$$dir/starter"; \
	  [ -f "$$starter/manage.py" ] || starter=student_template; \
	  cp -R "$$starter" "build/examples/$$name-starter"; \
	  cp -R "$$starter" "build/examples/$$name-solution"; \
	  cp -R "$$dir/solution/." "build/examples/$$name-solution/"; \
	  for case in starter solution; do \
	    $(BIN)/grader grade "build/examples/$$name-$$case" --assignment "$$name" \
	      --output "reports/$$name-$$case.json" --quiet; \
	    $(BIN)/python -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%s: %s %g/%g" % (sys.argv[1], r["status"], r["score"], r["max_score"]))' "reports/$$name-$$case.json"; \
	  done; \
	done
	$(BIN)/python scripts/service_examples.py build/examples

test: setup test-tools gates
	$(BIN)/python -m pytest
	@$(MAKE) --no-print-directory compat

# The fast part of the suite: tests/unit and tests/harness (no sandboxed subprocess).
# The gates: lint, format, types and the documentation site, each must be clean.
gates: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mkdocs build --strict --quiet

docs: setup
	$(BIN)/mkdocs build --strict
	@echo "the site is in build/site/ (index.html)"

test-fast: setup
	$(BIN)/python -m pytest -m "not e2e"

# The end-to-end, feedback and real-project tests again under the other supported ends
# of the range, each in its own virtual environment, when the interpreter is on the
# machine (python3.X on PATH, or pyenv's): Python 3.13 + Django 6.1, Python 3.11 + Django
# 4.2. The main run above uses $(PYTHON) with the newest Django it can install.
# The lesson's other assignments are proved there too (check-assignment: solution, starter and
# every variant), signals-profile by the three files above.
COMPAT       ?= 3.13:6.1 3.11:4.2
COMPAT_TESTS  = tests/e2e/test_e2e_grading.py tests/e2e/test_feedback.py tests/e2e/test_real_projects.py tests/service/test_smoke.py \
  $(foreach a,$(filter-out signals-profile,$(notdir $(patsubst %/rubric.toml,%,$(wildcard assignments/*/rubric.toml)))),\
  "tests/e2e/test_assignments.py::test_check_assignment_passes_for_every_assignment[$(a)]")

compat:
	@for pair in $(COMPAT); do \
	  py=$${pair%%:*}; dj=$${pair#*:}; \
	  exe=""; for cand in $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/$$py.*/bin/python$$py 2>/dev/null | sort -V -r) $$(command -v python$$py 2>/dev/null); do \
	    if "$$cand" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$$py'.split('.'))))" 2>/dev/null; then exe=$$cand; break; fi; \
	  done; \
	  if [ -z "$$exe" ]; then echo "note: no python$$py on this machine: the Python $$py + Django $$dj tests were not run"; continue; fi; \
	  venv=.venv-compat/py$$py-django$$dj; \
	  if [ ! -f $$venv/.installed ] || [ pyproject.toml -nt $$venv/.installed ]; then \
	    echo "setting up $$venv ($$exe)"; \
	    { test -x $$venv/bin/python || "$$exe" -m venv $$venv; } && \
	    $$venv/bin/python -m pip install --quiet --upgrade pip && \
	    $$venv/bin/python -m pip install --quiet -e '.[test]' "django~=$$dj.0" && \
	    touch $$venv/.installed || exit 1; \
	  fi; \
	  echo "== Python $$py + Django $$($$venv/bin/python -c 'import django; print(django.get_version())'): the e2e, feedback and real-project tests, and check-assignment of the other assignments"; \
	  $$venv/bin/python -m pytest -q -p no:cacheprovider $(COMPAT_TESTS) || exit 1; \
	done

clean:
	rm -rf build $(VENV) .venv-compat reports/*.json
