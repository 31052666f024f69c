# Two commands a newcomer needs: `make demo` (the main job) and `make test` (lint, types, the test suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
# Use uv from PATH when present, otherwise bootstrap it into .tools/ with pip (no root needed).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

.PHONY: venv test test-fast test-newest lint typecheck compile pytest demo airflow cli-demo bench bench-wan clean

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

# --compile-bytecode: pip compiles what it installs, uv does not; without it, and with PYTHONDONTWRITEBYTECODE
# set (as on CI), every Python process (each Airflow process a test starts) compiles Airflow again: twice the CPU.
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --quiet --locked --compile-bytecode --extra dev --python $(PYTHON)
	touch $@

venv: $(VENV)/.synced

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

# The whole suite over PYTEST_WORKERS pytest-xdist workers: many tests wait on servers and Airflow processes, so
# 4 workers keep 2 cores busy. tests/support/tiers.py groups each module on one worker and hands out the longest
# first; PYTEST_WORKERS=0 runs everything in this one process.
PYTEST_WORKERS ?= 4
XDIST = $(if $(filter 0,$(PYTEST_WORKERS)),-p no:xdist,-n $(PYTEST_WORKERS) --dist loadscope)

compile: venv
	$(VENV)/bin/python -m compileall -q -j 0 airflow_provider_actito_sftp partner_sandbox tests demo dags benchmarks >/dev/null

pytest: venv compile
	$(VENV)/bin/pytest $(XDIST) $(PYTEST_ARGS)

test: lint typecheck pytest

# The edit loop: lint, types and the tests marked "fast" (no SSH server, browser or Airflow process; the
# markers come from tests/support/tiers.py). `make test` stays the whole suite and CI's command.
test-fast: lint typecheck compile
	$(VENV)/bin/pytest -m fast -q -n 2 --dist loadscope $(PYTEST_ARGS)

# The package as `pip install airflow-provider-actito-sftp` gives it to users: the newest allowed version of every
# dependency (no lock, index metadata refreshed), the package installed as a wheel, in a new environment; then the
# fast tier and the console script against a real sshd (tests/cli/test_console_script.py). Our own warnings fail
# the tests (pyproject's filterwarnings); the console script must print no warning at all.
NEWEST := .venv-newest
test-newest: | $(UV)
	rm -rf $(NEWEST)
	$(UV) venv --quiet --python $(PYTHON) $(NEWEST)
	$(UV) pip install --quiet --refresh --compile-bytecode --python $(NEWEST)/bin/python ".[test]"
	$(UV) pip list --python $(NEWEST)/bin/python | grep -E '^(apache-airflow|asyncssh|cryptography|python-gnupg|click) '
	$(NEWEST)/bin/pytest -m fast -q -n 2 --dist loadscope $(PYTEST_ARGS)
	$(NEWEST)/bin/pytest -q -p no:xdist tests/cli/test_console_script.py

demo: venv
	$(VENV)/bin/python -m demo.main

# ACTITO_DEMO_PORT=8081 for another port; Ctrl-C, SIGTERM or SIGHUP stop Airflow and clean up (README).
airflow: venv
	$(VENV)/bin/python -m demo.standalone

cli-demo: venv
	$(VENV)/bin/python -m demo.cli_session

# The provider's transfers against OpenSSH + gpg on a throwaway sshd (docs/performance.md); BENCH_ARGS e.g.
# "--size-mib 512 --json /tmp/bench.json" or "--only small_files".
bench: venv
	$(VENV)/bin/python -m benchmarks.transfers $(BENCH_ARGS)

# The same over an emulated WAN link (benchmarks/wan.py, benchmarks/wan_link.py): 50 ms round trip at 200 Mbit/s
# (a 256 MiB PGP file) and at 1 Gbit/s (1 GiB: at 125 MB/s a smaller file is mostly connection set-up), and
# 200 x 4 KiB files, with rclone and Airflow's SFTPHook as peers.
bench-wan: venv
	$(VENV)/bin/python -m benchmarks.transfers --link wan-200m --wan-size-mib 256 $(BENCH_ARGS)
	$(VENV)/bin/python -m benchmarks.transfers --link wan-1g --wan-size-mib 1024 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(NEWEST) .tools .pytest_cache .mypy_cache .ruff_cache
