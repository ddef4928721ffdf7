# Two commands for a newcomer: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-pg pg-server lint typecheck unit bench bench-creep bench-store bench-serve fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check nhictl tests benchmarks scripts fuzz
	$(BIN)/ruff format --check nhictl tests benchmarks scripts fuzz

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) pg-server
	$(BIN)/pytest -q

test: lint typecheck unit

# The PostgreSQL half of the suite alone (every test run on PostgreSQL, and its failure modes).
# The tests start their own throwaway server; NHICTL_TEST_PG_URL points them at another.
test-pg: $(STAMP) pg-server
	$(BIN)/pytest -q -k postgres

# The tests run initdb/pg_ctl from Debian's postgresql package. Install it when missing (as root
# or with sudo), without creating or starting the system-wide cluster: the tests start their own.
PG_CLUSTER_CONF := /etc/postgresql-common/createcluster.d/nhictl-tests.conf
pg-server:
	@if [ -n "$$NHICTL_TEST_PG_URL" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ]; then SUDO=; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
	else \
		echo "The PostgreSQL tests need the server binaries: run 'sudo apt-get install -y postgresql'" >&2; \
		echo "(or set NHICTL_TEST_PG_URL to a server where you may CREATE DATABASE)." >&2; \
		exit 1; \
	fi; \
	$$SUDO mkdir -p $(dir $(PG_CLUSTER_CONF)) && \
	echo "create_main_cluster = false" | $$SUDO tee $(PG_CLUSTER_CONF) >/dev/null && \
	$$SUDO apt-get update -q && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/bench_validate.py

# audit-creep vs cloudsplaining at 1k/5k (and nhictl alone at 20k), typical and broad estates:
# ~15 minutes on 2 cores.
bench-creep: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python benchmarks/bench_creep.py

# Credential issue/verify on PostgreSQL (a throwaway cluster, fsync on) next to SQLite, 1 and 8
# processes, 3 repetitions, then a profile of one PostgreSQL run: ~2 minutes on 2 cores.
bench-store: $(STAMP) pg-server
	$(BIN)/python benchmarks/bench_store.py --profile

# `nhictl serve` (TLS, loopback, 2 workers): 2000 token exchanges from 32 concurrent clients and
# 3000 introspections, next to the core's issue rate, then 8 s of py-spy on the workers: ~1 min.
bench-serve: $(STAMP)
	$(BIN)/python -m pip install --quiet py-spy
	$(BIN)/python benchmarks/bench_serve.py --profile 8

# Coverage-guided fuzzing (atheris) of every input loader, FUZZ_SECONDS each (docs/testing.md);
# crashes land in fuzz/crashes/<target>/. ~8 minutes at the default 60 s.
FUZZ_SECONDS ?= 60
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,fuzz]'
	@mkdir -p fuzz/logs; status=0; for target in $$($(BIN)/python fuzz/run.py --list); do \
		echo "== fuzz $$target ($(FUZZ_SECONDS) s, log: fuzz/logs/$$target.log)"; \
		if $(BIN)/python fuzz/run.py $$target --seconds $(FUZZ_SECONDS) >fuzz/logs/$$target.log 2>&1; \
		then grep -E '^(Done|stat::new_units_added)' fuzz/logs/$$target.log; \
		else status=1; tail -n 25 fuzz/logs/$$target.log; fi; \
	done; exit $$status

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
