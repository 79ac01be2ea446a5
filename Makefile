# Every target sets up what it needs: a machine with only Python and make is enough.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

STATUS := $(BIN)/pycron --crontab crontab.example --state-dir ./.pycron status
PAGE   := 127.0.0.1:8765

.PHONY: run status test lint bench clean

run: $(VENV)/.installed
	@mkdir -p -m 700 .pycron
	@echo "pycron: running the jobs of crontab.example until Ctrl-C"
	@echo "  the status page        http://$(PAGE)/   (this machine only)"
	@echo "  the jobs write under   ./.pycron/ (heartbeat.log, system-check.log, backups/ ...)"
	@echo "  run history and logs   ./.pycron/history.db, ./.pycron/logs/<job>/"
	@echo "  from a second terminal make status   (or: $(STATUS))"
	@echo
	$(BIN)/pycron --crontab crontab.example --state-dir ./.pycron daemon --http $(PAGE)

status: $(VENV)/.installed
	@$(STATUS)

test: $(VENV)/.installed-test
	@# Bytecode caches of the package, written even where PYTHONDONTWRITEBYTECODE is
	@# set: the tests start hundreds of pycron processes, which would each compile it.
	@$(BIN)/python -m compileall -q pycron
	$(BIN)/python -m pytest -n 2

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check pycron tests bench
	$(BIN)/ruff format --check pycron tests bench
	$(BIN)/mypy pycron

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[notify,watch,web,cluster]'
	@touch $@

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[$*]'
	@touch $@

clean:
	rm -rf $(VENV) .pycron .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
