# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv and installs what it needs; the stamp is redone when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/localctl demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The MQTT tests need a broker: mosquitto when installed (CI installs it), otherwise the amqtt
# broker in a venv of its own (it pins a websockets release older than localctl's).
AMQTT_VENV := .venv-amqtt
BROKER := $(if $(shell command -v mosquitto 2>/dev/null),,$(AMQTT_VENV)/bin/amqtt)

$(AMQTT_VENV)/bin/amqtt:
	$(PYTHON) -m venv $(AMQTT_VENV)
	$(AMQTT_VENV)/bin/python -m pip install --quiet amqtt==0.12.1

unit: $(STAMP) $(BROKER)
	PATH="$(CURDIR)/$(AMQTT_VENV)/bin:$$PATH" $(BIN)/pytest

test: lint typecheck unit

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.optimizer_bench
	$(BIN)/python -m benchmarks.relay_bench
	$(BIN)/python -m benchmarks.control_bench
	$(BIN)/python -m benchmarks.outbox_bench
	$(BIN)/python -m benchmarks.replay_bench
	$(BIN)/python -m benchmarks.acn_replay
	$(BIN)/python -m benchmarks.tls_bench

clean:
	rm -rf $(VENV) $(AMQTT_VENV) .mypy_cache .pytest_cache .ruff_cache
