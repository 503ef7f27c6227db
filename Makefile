# The two commands of the README: `make run` and `make test`.
# Both bootstrap what they need: uv (from PyPI), a .venv from uv.lock.

SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test venv lint typecheck pytest bench chromium clean

$(CURDIR)/.tools/bin/uv .tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet uv

venv: $(UV)
	$(UV) sync --frozen --quiet

## run: the server with a working demo (embedded SQLite, demo CRM data, simulated traffic)
run: venv
	$(UV) run --frozen callcenter demo $(ARGS)

## test: ruff, mypy, then the whole pytest suite
test: venv chromium
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy
	$(UV) run --frozen pytest -q

chromium:
	@bash scripts/ensure-chromium.sh

bench: venv
	$(UV) run --frozen python bench/routing_core.py --quick

clean:
	rm -rf .venv .tools var .pytest_cache .mypy_cache .ruff_cache
