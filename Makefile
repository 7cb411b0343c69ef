PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m sggit.demo

# The static checks run first, so CI (`make test`) fails on a lint or type error too.
# The suite runs one process per core (pytest-xdist), each test module in one process so
# its module fixtures are built once; `make test JOBS=0` runs it in this process alone.
# pytest exits 5 when it collected nothing; that is not a failure of the code.
JOBS ?= auto
test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile; rc=$$?; if [ $$rc -eq 5 ]; then echo 'no tests collected'; exit 0; fi; exit $$rc

# Static checks: ruff for style and mistakes, mypy (with the pydantic plugin) for types.
lint: $(STAMP)
	$(BIN)/ruff check sggit tests benchmarks
	$(BIN)/mypy sggit

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks -q --benchmark-only

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
