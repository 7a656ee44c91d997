# libshare — the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-unit test-integration test-e2e test-faults lint format bench kafka-start kafka-stop events-doc clean

# Create the virtual environment and install (again only when pyproject.toml changes).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Serve the API and UI on http://127.0.0.1:8000 with an embedded PostgreSQL under .data/
# (or DATABASE_URL), loading the demo network on the first start.
run: $(STAMP)
	$(BIN)/libshare serve

# Lint and type-check first (a lint or type error fails the build), then start PostgreSQL
# (embedded, by the test session) and Kafka (a real broker on 127.0.0.1:19092), run the
# whole suite, with the fault suite (tests/faults/, mostly waiting through outages) beside
# the rest (infra/run-suites.sh), stop them.
test: lint
	infra/install-chromium.sh
	infra/with-kafka.sh infra/run-suites.sh

test-unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP)
	infra/with-kafka.sh $(BIN)/pytest -q tests/integration

test-e2e: $(STAMP)
	infra/install-chromium.sh
	infra/with-kafka.sh $(BIN)/pytest -q tests/e2e

TYPED := domain infra projections services workers composition api bench

test-faults: $(STAMP)
	infra/with-kafka.sh $(BIN)/pytest -q -s tests/faults

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict $(TYPED)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Benchmarks with raw baselines measured in the same run; writes bench/results/latest.json.
bench: $(STAMP)
	infra/with-kafka.sh $(BIN)/python -m bench

events-doc: $(STAMP)
	$(BIN)/libshare events doc

kafka-start:
	infra/kafka/kafka.sh start

kafka-stop:
	infra/kafka/kafka.sh stop

clean:
	rm -rf .data .cache/kafka/node .cache/kafka/test-node
