#!/usr/bin/env bash
# `make compose-test`: the whole deploy/docker-compose.yml stack with podman-compose, every image built
# here (deploy/compose.local.yml), checked through a Slack stand-in: benchmarks/compose_stack.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/podman_setup.sh
.venv/bin/python -m pip install -q "podman-compose==1.6.0"
export CITEBOT_PODMAN_BUILD_ARGS="${BUILD_FLAGS[*]}"
# The images are kept (the next run builds from their layers); what earlier builds left untagged is not.
trap 'podman image prune -f >/dev/null 2>&1 || true' EXIT
PYTHONPATH=. .venv/bin/python -m benchmarks.compose_stack "$@"
