#!/usr/bin/env bash
# Set up everything the suite needs on a fresh machine with Python 3.11: one virtual
# environment (.venv) with the four packages (editable), the test tools and Meltano, at
# the versions of uv.lock; then Meltano's own plugin venvs (.meltano/), held to the same
# versions. Idempotent: a second call only re-checks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# uv installs the lock; it is itself in the lock (a dependency of Meltano), so the first
# pip install only bootstraps it.
if [ ! -x .venv/bin/uv ]; then
  # -qq: errors only (a machine's own pip configuration may warn about its mirrors).
  .venv/bin/python -m pip install -qq --disable-pip-version-check uv
fi
uv=.venv/bin/uv
export UV_PROJECT_ENVIRONMENT="$root/.venv"
stamp=.venv/.plg-installed
deps="uv.lock pyproject.toml plg-settings/pyproject.toml tap-product-events/pyproject.toml transform/pyproject.toml target-plg-crm/pyproject.toml report/pyproject.toml"
if [ ! -f "$stamp" ] || [ -n "$(find $deps -newer "$stamp" 2>/dev/null)" ]; then
  # --locked: fail rather than install versions other than the lock's.
  "$uv" sync --locked --quiet
  touch "$stamp"
fi
# Meltano installs each plugin into a venv of its own under .meltano/ with pip (pip_url
# in meltano.yml); the lock, exported as constraints, pins those venvs too.
constraints=.meltano/plugin-constraints.txt
if [ ! -f .meltano/.plg-installed ] || [ -n "$(find meltano.yml $deps -newer .meltano/.plg-installed 2>/dev/null)" ]; then
  mkdir -p .meltano
  "$uv" export --locked --quiet --no-hashes --no-emit-workspace --no-header \
    --no-annotate --all-extras --all-groups -o "$constraints" >/dev/null
  for plugin_type in extractors mappers loaders utilities; do
    PIP_CONSTRAINT="$root/$constraints" UV_CONSTRAINT="$root/$constraints" \
      .venv/bin/meltano install --plugin-type "$plugin_type" >/dev/null
  done
  # The dbt transformers (dbt/plg_scores) pin their own dependencies (dbt-core's bounds
  # exclude some of the lock's versions), so they are installed without the constraints.
  .venv/bin/meltano install --plugin-type transformers >/dev/null
  touch .meltano/.plg-installed
fi
