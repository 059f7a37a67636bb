# Latent: make serve | make test | make test-fast | make proto | make async-client | make lint | make bench
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# `make serve PORT=6000 HOST=0.0.0.0 HTTP_PORT=8080` passes --port/--host/--http-port to
# latentd. Only values given on make's command line are passed, so that otherwise
# latentd's own defaults (and LATENT_PORT, LATENT_HOST, LATENT_HTTP_PORT, a --config file
# through LATENT_CONFIG) apply.
SERVE_FLAGS :=
ifeq ($(origin HOST),command line)
SERVE_FLAGS += $(if $(HOST),--host $(HOST))
endif
ifeq ($(origin PORT),command line)
SERVE_FLAGS += $(if $(PORT),--port $(PORT))
endif
ifeq ($(origin HTTP_PORT),command line)
SERVE_FLAGS += $(if $(HTTP_PORT),--http-port $(HTTP_PORT))
endif

# No model hub is ever contacted; hnswlib is compiled for any x86-64, not this CPU.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HNSWLIB_NO_NATIVE := 1

.PHONY: install install-dev serve test test-fast proto async-client lint bench clean

$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e clients/python -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install --quiet -c constraints.txt -e clients/python -e '.[dev]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

serve: install
	$(VENV)/bin/latentd serve $(SERVE_FLAGS)

# The whole suite (what CI runs), after lint.
test: lint
	$(PY) -m pytest

# Lint, then every test but the end-to-end ones (tests/e2e: real models, real processes).
test-fast: lint
	$(PY) -m pytest -m "not e2e"

proto: install-dev
	$(PY) -m grpc_tools.protoc -I protos \
		--python_out=clients/python --grpc_python_out=clients/python \
		--pyi_out=clients/python \
		protos/latent/v1/latent.proto

# latent/async_client.py is generated from latent/client.py: run after changing the client.
async-client: install-dev
	$(PY) clients/python/tools/generate_async_client.py

# ruff's rules and formatting; mypy with [tool.mypy] of pyproject.toml (service, client).
lint: install-dev
	$(PY) -m ruff check service clients tests bench
	$(PY) -m ruff format --check service clients tests bench
	$(PY) -m mypy

# The benchmark suite (not part of the tests): tables, bench/out/summary.{md,json} and
# bench/out/*.png, in under 15 minutes on 2 cores. `make bench BENCH_ARGS=--quick` for a
# small run (bench/out/quick/); see bench/README.md.
bench: install-dev
	$(PIP) install --quiet -c constraints.txt -e clients/python -e '.[dev,bench]'
	MPLBACKEND=Agg $(PY) bench/suite.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
