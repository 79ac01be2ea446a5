# Every target sets up what it needs: a machine with only Python and make is enough.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean

run: $(VENV)/.installed
	mkdir -p .pycron
	$(BIN)/pycron --crontab crontab.example --state-dir ./.pycron daemon

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check pycron tests bench
	$(BIN)/ruff format --check pycron tests bench
	$(BIN)/mypy pycron

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[$*]'
	@touch $@

clean:
	rm -rf $(VENV) .pycron .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
