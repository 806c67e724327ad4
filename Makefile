# Two commands on a fresh machine: `make up` (install, then run the platform) and `make test`.
# uv is installed into .tools/ at a pinned version; everything else comes from uv.lock into .venv/.
UV_VERSION := 0.13.9
UV := .tools/bin/uv
SRC := libs/afo_common/src libs/afo_cli/src libs/afo_testkit/src $(wildcard services/*/src)
# Every service process imports a few thousand modules: without compiled bytecode each start compiles them
# all again (measured: 6 s to import agent-runtime, 0.7 s with it). Dependencies are compiled when they are
# installed; our own modules are written as they are first imported, even where the environment asks
# Python not to (PYTHONDONTWRITEBYTECODE=1 on some CI machines: an empty value turns it off).
export PYTHONDONTWRITEBYTECODE :=

.PHONY: install up test test-long chaos fuzz soak lint typecheck unit contract e2e bench bench-db bench-extraction bench-knowledge bench-booking bench-reminders bench-webhooks bench-voice bench-stt bench-console bench-realtime bench-analytics schemas clean browser

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) sync --frozen --compile-bytecode
	touch $@

install: .venv/.synced

up: install
	.venv/bin/afo up

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen lint-imports

typecheck: install
	$(UV) run --frozen mypy $(SRC) bench tests

# `make test` and `make unit` run pytest in three pytest-xdist workers on the two cores: much of a test's time is
# spent waiting on servers and processes, so a third worker fills it (measured below). `--dist loadfile` sends a
# whole test file to one worker: a module with a platform of its own (module-scoped) starts it once, and the
# e2e modules that share one (`shared_platform` in tests/e2e/conftest.py, started by a worker the first time
# one of its tests asks for it) cost each worker one start. Each worker picks its servers' ports from a range
# of its own (afo_testkit.xdist_ports). `contract` (seconds), `e2e` (one process, to watch) and `test-long`
# (kills and restarts processes against deadlines that a second worker's load could make it miss) stay in one
# process. PYTEST_WORKERS=0 runs `test` and `unit` in one process too.
PYTEST_WORKERS ?= 3

unit: install
	$(UV) run --frozen pytest libs services -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

contract: install
	$(UV) run --frozen pytest tests/contract -q

e2e: install
	$(UV) run --frozen pytest tests/e2e -q

# The widget (and console) in Debian's headless Chromium, driven by Playwright: part of `make test` too. Without
# /usr/bin/chromium the first run installs it with apt-get when it runs as root, else the tests skip and say so.
browser: install
	$(UV) run --frozen pytest tests/browser -q

# `make test` on the 2-core machine, nothing else running (4 Dec 2026, 4,011 tests): 7 min 55 s with three workers
# (pytest 471 s; 9 min 15 s before the files that start processes went first); ruff, lint-imports and mypy take
# about 15 s of it. The crash-and-restart tests that take tens of seconds each, and the JetStream cluster's
# every-service kill and pause, are marked `long` and run by `make test-long` (CI runs both).
test: lint typecheck
	$(UV) run --frozen pytest -q -m "not long" -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-long: install
	$(UV) run --frozen pytest -q -m long

# The JetStream cluster's chaos tests, every fault (make test runs a slice: three services and the stream's leader
# killed; test-long the rest).
chaos: install
	$(UV) run --frozen pytest tests/e2e/test_cluster_chaos.py -q -m "" -p no:randomly

# schemathesis over the OpenAPI document with every phase and 100 cases an operation (~6 minutes); `make test`
# runs a bounded slice (examples and 3 generated cases an operation).
fuzz: install
	AFO_FUZZ_EXAMPLES=$${AFO_FUZZ_EXAMPLES:-100} AFO_FUZZ_PHASES=examples,coverage,fuzzing \
		$(UV) run --frozen pytest tests/e2e/test_openapi_fuzz.py -q -p no:randomly

# The soak (bench/soak.py): five minutes of mixed traffic on the whole platform, then each service SIGKILLed five
# times under a steady chat; `make soak ARGS="--minutes 60"` for the full hour, `ARGS="--cluster"` on 3 NATS nodes.
soak: install
	$(UV) run --frozen python -m bench.soak --chaos $(ARGS)

bench: install
	$(UV) run --frozen python -m bench.text_path

bench-db: install
	$(UV) run --frozen python -m bench.db_drivers

bench-extraction: install
	$(UV) run --frozen python -m bench.extraction

bench-reminders: install
	$(UV) run --frozen python -m bench.reminders

bench-knowledge: install
	$(UV) run --frozen python -m bench.knowledge

bench-webhooks: install
	$(UV) run --frozen python -m bench.webhooks

bench-booking: install
	$(UV) run --frozen python -m bench.booking

# analytics.summary aggregated on read: 50,000 conversations (and 5,000 calls) of one tenant, SQLite (~1 minute);
# `ARGS="--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"` adds PostgreSQL.
bench-analytics: install
	$(UV) run --frozen python -m bench.analytics $(ARGS)

# 1,000 WebSocket clients on GET /v1/realtime, 200 events/s, spread over 100 and then 20 tenants (~2 minutes).
bench-realtime: install
	$(UV) run --frozen python -m bench.realtime_fanout

# Stock pipecat and AFO side by side at 10, 50, 100 and 150 simultaneous phone calls (~25 minutes).
bench-voice: install
	$(UV) run --frozen python -m bench.voice_load

bench-console: install
	$(UV) run --frozen python -m bench.console_pages

bench-stt: install
	$(UV) run --frozen python -m bench.stt_wer

schemas: install
	.venv/bin/afo schemas export --out docs

clean:
	rm -rf .venv .tools var
