#!/usr/bin/env bash
# Set up everything the suite needs on a fresh machine: one virtual environment with the
# three plugins (editable), the test tools and Meltano, then Meltano's own plugin venvs.
# Idempotent: a second call only re-checks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.plg-installed
deps="requirements-dev.txt plg-settings/pyproject.toml tap-product-events/pyproject.toml transform/pyproject.toml target-plg-crm/pyproject.toml report/pyproject.toml"
if [ ! -f "$stamp" ] || [ -n "$(find $deps -newer "$stamp" 2>/dev/null)" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt -e ./plg-settings \
    -e ./tap-product-events -e ./transform -e ./target-plg-crm -e ./report
  touch "$stamp"
fi
# Meltano installs each plugin into a venv of its own under .meltano/ (pip_url in meltano.yml).
if [ ! -f .meltano/.plg-installed ] || [ -n "$(find meltano.yml $deps -newer .meltano/.plg-installed 2>/dev/null)" ]; then
  .venv/bin/meltano install >/dev/null
  touch .meltano/.plg-installed
fi
