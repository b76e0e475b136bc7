# vetbot: `make run` and `make test` are all a fresh machine needs (see README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ./data

.PHONY: setup run test test-quick lint typecheck eval bench kb bot serve clean

setup: $(STAMP)

# Idempotent: re-runs only when pyproject.toml changes. torch is installed on its own
# first so that pip takes the local CPU build of exactly 2.13.0 and never the CUDA one.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Builds the bundled knowledge base on first start (incremental afterwards), then serves
# the web app and API; the Telegram bot runs alongside when VETBOT_TELEGRAM_TOKEN is set.
run: setup
	$(BIN)/vetbot db upgrade
	$(BIN)/vetbot ingest knowledge/policies
	$(BIN)/vetbot serve

kb: setup
	$(BIN)/vetbot ingest knowledge/policies

bot: setup
	$(BIN)/vetbot bot

# Installs PostgreSQL, Chromium and CJK fonts when missing (as root; otherwise says the command
# to run), runs the suite against a throwaway PostgreSQL cluster, and fails on any skipped test.
# `exec`: make's TERM must reach the script, whose traps stop pytest and remove the cluster.
test: setup
	bash scripts/test-env.sh install
	$(BIN)/ruff check .
	$(BIN)/mypy vetbot knowledge ingest complaints api bot
	exec env PYTHON=$(BIN)/python bash scripts/test-env.sh run $(BIN)/pytest -q -rs

test-quick: setup
	$(BIN)/pytest -q -m "not slow and not browser and not postgres"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy vetbot knowledge ingest complaints api bot

eval: setup kb
	$(BIN)/vetbot eval tests/eval/bundled-questions.jsonl
	$(BIN)/vetbot eval tests/eval/complaints-heldout.jsonl

bench: setup kb
	$(BIN)/vetbot bench

clean:
	rm -rf $(VENV) $(DATA)
