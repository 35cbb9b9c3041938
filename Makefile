# Development tasks. Every target works from a fresh clone: `make setup` creates .venv here.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NODE_STAMP := node_modules/.installed

.PHONY: setup demo node-check test lint format docs clean

setup: $(STAMP) $(NODE_STAMP)

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Azurite (the Azure Storage emulator) and the other Node.js tools, pinned by package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# The demo keeps its queue and tables on Azurite (127.0.0.1): with-azurite.sh starts Azurite
# unless one runs, and stops it afterwards. Azurite needs Node.js 20 or later.
demo: node-check setup
	scripts/with-azurite.sh $(BIN)/python -m demo || { status=$$?; \
		echo "make demo: failed with status $$status; if Azurite did not start, run npm ci" \
			"(Node.js 20 or later) and read .azurite/azurite.log" >&2; \
		exit $$status; }

node-check:
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
		2>/dev/null || { echo "make: Azurite needs Node.js 20 or later on PATH (found:" \
			"$$(node --version 2>/dev/null || echo none)); install it, then run npm ci" >&2; \
		exit 1; }

# Tests marked `azurite` need Azurite on 127.0.0.1: with-azurite.sh starts it unless one runs.
# pytest exits 5 when it collects no tests; make stops on any non-zero status, so that fails too.
test: setup lint
	scripts/with-azurite.sh $(BIN)/python -m pytest -q || { status=$$?; \
		if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
		exit $$status; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy remediators demo

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate docs/rules.md from the rule catalogue.
docs: setup
	$(BIN)/python docs/generate_rules.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
