# facegate: the two commands a newcomer runs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-deps demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	$(BIN)/facegate models prepare
	touch $(STAMP)

# Debian packages the tests need (an MQTT broker); `make demo` does not need them.
system-deps:
	@scripts/system-deps.sh

demo: setup
	$(BIN)/facegate run

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

test: lint system-deps
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/lfw.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
