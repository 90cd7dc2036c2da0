# `make run` serves the site; `make test` runs the whole suite; `make bench` measures it (docs/performance.md);
# `make test-docker` builds the image and runs the compose stack in a private Docker engine (docs/deployment.md).
# All build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run dev test test-docker lint format clean bench lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamps are rebuilt whenever a requirements file changes, so the venv never goes stale.
# The lock pins every transitive dependency, so a fresh machine gets exactly what was tested.
$(VENV)/.runtime-stamp: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

$(VENV)/.dev-stamp: requirements.lock requirements-dev.txt $(VENV)/.runtime-stamp
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Development: restarts on every change of code, templates or static files; tracebacks on error pages.
dev: $(VENV)/.runtime-stamp
	@trap 'true' INT; $(BIN)/python app.py --reload || [ $$? -eq 130 ]

# Ctrl-C is the normal way to stop: after the graceful stop (status 130) make reports no error.
run: $(VENV)/.runtime-stamp
	@trap 'true' INT; $(BIN)/python app.py || [ $$? -eq 130 ]

test: $(VENV)/.dev-stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -m "not docker" -n auto $(PYTEST_ARGS)

# Needs root, Debian's docker.io and debootstrap (.ci/run installs them); skips without them
# unless REQUIRE_DOCKER=1. Stand-in base images and wheels are cached in DOCKER_TEST_CACHE.
test-docker: $(VENV)/.dev-stamp
	$(BIN)/python -m pytest -m docker tests/docker $(PYTEST_ARGS)

$(VENV)/.bench-stamp: requirements.txt bench/requirements.txt $(VENV)/.runtime-stamp
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

# BENCH_QUICK=1 runs a bounded smoke of the harness (seconds, not minutes); wrk comes from Debian.
# bench.traffic measures pages spread over many URLs while writes trickle in (docs/traffic.md).
# bench.backup_latency: both ports' p99 during an online backup at 100k prompts (docs/backup-latency.md).
bench: $(VENV)/.bench-stamp
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
	  || { echo "wrk is required: apt-get install -y wrk" >&2; exit 1; }
	$(BIN)/python -m bench.run $(if $(BENCH_QUICK),--quick) $(BENCH_ARGS)
	$(BIN)/python -m bench.traffic $(if $(BENCH_QUICK),--quick,--uncached --out docs/traffic.md)
	$(if $(BENCH_QUICK),,$(BIN)/python -m bench.backup_latency --uncached --out docs/backup-latency.md)

lint: $(VENV)/.dev-stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-stamp
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin every transitive dependency after requirements.txt changes (uv, from requirements-dev.txt).
lock: $(VENV)/.dev-stamp
	$(BIN)/uv pip compile requirements.txt --quiet --universal --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
