# Every step a newcomer, an ops engineer or CI needs, from a clean clone.
# `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION ?= 3.11
UV_VERSION     ?= 0.13.9
WORK           := .work
UV             := $(WORK)/uv/bin/uv
VENV           := .venv
PY             := $(VENV)/bin/python
KAFKA          := infra/kafka/kafka.sh
SECURE_KAFKA   := infra/kafka/secure.sh
CLUSTER_KAFKA  := infra/kafka/cluster.sh
SECURE_DIR     := $(WORK)/secure

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@python$(PYTHON_VERSION) -m venv $(WORK)/uv || { echo "Python $(PYTHON_VERSION) is required: install python$(PYTHON_VERSION) and python$(PYTHON_VERSION)-venv."; exit 1; }
	@$(WORK)/uv/bin/pip install -q "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@UV_PYTHON=python$(PYTHON_VERSION) $(UV) sync --frozen --quiet
	@touch $@

.PHONY: venv
venv: $(VENV)/.synced ## Create the virtualenv from uv.lock

.PHONY: lock
lock: | $(UV) ## Re-resolve uv.lock after changing pyproject.toml
	@UV_PYTHON=python$(PYTHON_VERSION) $(UV) lock

.PHONY: kafka-jars
kafka-jars: ## Fetch the Kafka broker jars from Maven Central into .work/kafka/lib
	@$(KAFKA) jars

.PHONY: kafka-up
kafka-up: venv ## Start the local single-node Kafka broker (KRaft), wait until it answers
	@$(KAFKA) up

.PHONY: kafka-down
kafka-down: ## Stop the local broker (its data stays for the next start)
	@$(KAFKA) down

.PHONY: kafka-cluster-up
kafka-cluster-up: venv ## Start a local 3-broker KRaft cluster on 127.0.0.1:19092-19094 (replication 3, min ISR 2)
	@$(CLUSTER_KAFKA) up

.PHONY: kafka-cluster-down
kafka-cluster-down: ## Stop the 3-broker cluster (its data stays in .work/kafka/cluster)
	@$(CLUSTER_KAFKA) down

.PHONY: kafka-logs
kafka-logs: ## Follow the local broker's log
	@$(KAFKA) logs

.PHONY: topics
topics: venv ## Create or update every topic of infra/topics.toml (idempotent)
	@$(VENV)/bin/returns topics

.PHONY: run
run: kafka-up topics kek ## Start the broker, the topics, the four services and the console (:8084)
	@$(PY) -m services.devstack start

.PHONY: stop
stop: ## Stop the services, the console and the broker
	@-$(PY) -m services.devstack stop
	@$(KAFKA) down

.PHONY: secure-certs
secure-certs: ## Make the local CA and the secure broker's certificate (.work/secure)
	@$(SECURE_KAFKA) certs

.PHONY: kafka-secure-up
kafka-secure-up: venv ## Start the secure broker (TLS, SCRAM, ACLs) on 127.0.0.1:9192, with its users and ACLs
	@$(SECURE_KAFKA) up

.PHONY: run-secure
run-secure: kafka-secure-up kek ## The same stack on the secure broker, each service as its own principal
	@eval "$$($(SECURE_KAFKA) env admin)" && $(VENV)/bin/returns topics
	@RETURNS_SECURE_DIR=$(abspath $(SECURE_DIR)) KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9192 $(PY) -m services.devstack start
	@echo "Connect as a principal: eval \"\$$($(SECURE_KAFKA) env auditor)\" (principals: docs/SECURITY.md)"

.PHONY: stop-secure
stop-secure: ## Stop the services and the secure broker
	@-$(PY) -m services.devstack stop
	@$(SECURE_KAFKA) down

.PHONY: status
status: ## Show what runs
	@-$(KAFKA) status
	@$(PY) -m services.devstack status

.PHONY: test
test: venv kafka-jars kek ## Run the test suite (starts its own broker unless KAFKA_BOOTSTRAP_SERVERS is set)
	@$(VENV)/bin/pytest --durations=15 $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: venv ## Run only the tests that need no broker
	@$(VENV)/bin/pytest -m "not kafka and not fuzz and not chaos" $(PYTEST_ARGS)

.PHONY: fuzz
fuzz: venv kafka-jars kek ## 10,000+ generated hostile inputs at a live intake (HTTP and returns-inbound): counts, 0 5xx
	@$(VENV)/bin/pytest -m fuzz tests/fuzz -s $(PYTEST_ARGS)

.PHONY: chaos
chaos: venv kafka-jars kek ## Faults on fresh stacks (kills, broker restarts, partner outage, slow partner): .work/chaos/table.md
	@rm -f $(WORK)/chaos/table.md
	@$(VENV)/bin/pytest -m chaos tests/chaos tests/integration/test_family_unity.py \
	  tests/integration/test_placement_broker_restart.py -s $(PYTEST_ARGS); status=$$?; \
	  echo; cat $(WORK)/chaos/table.md 2>/dev/null; exit $$status

.PHONY: lint
lint: venv ## ruff, mypy, the JSON Schema and AsyncAPI drift checks, alert rules, k8s manifests
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy
	@$(PY) -m schemas.export --check
	@$(PY) -m schemas.asyncapi --check
	@command -v promtool >/dev/null || { echo "promtool is missing: apt-get install prometheus"; exit 1; }
	@promtool check config infra/prometheus/prometheus.yml
	@promtool check rules $(filter-out infra/prometheus/prometheus.yml,$(wildcard infra/prometheus/*.yml))
	@promtool test rules infra/prometheus/tests/*.yml
	@$(PY) infra/k8s/check.py --out $(WORK)/k8s

.PHONY: format
format: venv ## Format the code
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

.PHONY: schemas
schemas: venv ## Regenerate schemas/json/ and docs/asyncapi.yaml from the models
	@$(PY) -m schemas.export
	@$(PY) -m schemas.asyncapi

.PHONY: clean
clean: stop ## Stop everything and remove .work (broker data, jars, state)
	@rm -rf $(WORK)

.PHONY: kek
kek: venv ## Make the development key-encryption key for personal data, once (.work/keys/kek.toml)
	@$(VENV)/bin/returns keys ensure-kek

.PHONY: tokens
tokens: venv ## Make development tokens for intake and console users (.work/run/)
	@$(PY) -m services.devstack tokens

.PHONY: bench
bench: kafka-up topics ## Benchmarks (medians, ratios to a plain kafka-python baseline in the same run)
	@$(PY) -m bench.ratio
	@$(PY) bench/screening_desk.py
	@$(PY) bench/observed.py
	@$(PY) -m bench.intake_screening
	@$(PY) -m bench.notify_delivery
	@$(PY) bench/replay.py
	@$(PY) -m bench.family_unity

.PHONY: bench-families
bench-families: kafka-up ## 1,000 families submitted 0-24 h late in random order: share decided once, whole
	@$(PY) -m bench.family_unity $(BENCH_ARGS)

.PHONY: bench-replay
bench-replay: kafka-up ## verify's rate next to plain kafka-python reading the same topics
	@$(PY) bench/replay.py

.PHONY: month
month: venv kafka-jars kek ## A month compressed into minutes (returns, INM, shelters, partners) and its resources report in .work/month/
	@$(PY) -m bench.simulated_month $(MONTH_ARGS)

.PHONY: bench-ratio
bench-ratio: kafka-up ## The pipeline's sustained rate over a raw aiokafka relay's, a faust relay's too (rate, CPU per record), p50/p95/p99 at 200/s, RSS
	@$(PY) -m bench.ratio $(BENCH_ARGS)

.PHONY: bench-state
bench-state: kafka-up ## State of 100,000 groups: restart-to-ready per service, changelog sizes before/after compaction
	@$(PY) -m bench.state_recovery $(BENCH_ARGS)

.PHONY: bench-pipeline
bench-pipeline: kafka-up ## All four services under a rate ladder: end-to-end p50/p95, highest sustained rate
	@$(PY) -m bench.pipeline $(BENCH_ARGS)

.PHONY: demo
demo: run ## Start the stack, simulate a minute with a 10x El Paso surge, and watch it in `returns top`
	@mkdir -p $(WORK)/run
	@echo "simulating 60 s at 6 people/s, El Paso at 10x from 20 s to 40 s (log: $(WORK)/run/simulate.log)"
	@$(VENV)/bin/returns simulate --rate 6 --duration 60s --surge ELP:10x@20s+20s --inm > $(WORK)/run/simulate.log 2>&1 &
	@$(VENV)/bin/returns top

.PHONY: test-load
test-load: venv kafka-jars ## Slow load runs (surge isolation), with their figures
	@$(VENV)/bin/pytest -m slow tests/load tests/integration -s $(PYTEST_ARGS)
