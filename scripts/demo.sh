#!/usr/bin/env bash
# `make demo`: score a generated product-led SaaS's Segment archive and load the results
# into the embedded local CRM, then print a report and write the HTML one
# (output/plg-report.html). Runs after scripts/setup.sh.
#
# Repeatable: every run starts from nothing (output/ removed, Meltano state ignored with
# --full-refresh), so it prints the same numbers each time. The archive in demo-data/events
# is generated once (about 300k messages) and again only when the generator changes.
# meltano.yml's dev environment fixes as_of to 2026-07-01, the day after the archive ends.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
PY=.venv/bin/python
events=demo-data/events
stamp=demo-data/.generated
log=output/demo-run.log

if [ ! -f "$stamp" ] || [ demo/generate_demo.py -nt "$stamp" ]; then
  echo "==> Generating the demo's Segment archive into $events"
  rm -rf "$events"
  "$PY" demo/generate_demo.py --out "$events"
  touch "$stamp"
else
  echo "==> Using the demo archive in $events ($(find "$events" -name '*.jsonl.gz' | wc -l) files)"
fi

echo "==> Running tap-product-events -> plg-scores -> target-plg-crm (dev environment)"
rm -rf output
mkdir -p output
started=$SECONDS
if ! .venv/bin/meltano --environment dev run --full-refresh \
    tap-product-events plg-scores target-plg-crm >"$log" 2>&1; then
  echo "The pipeline failed after $((SECONDS - started)) s. Last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "    done in $((SECONDS - started)) s (full log: $log)"
echo

"$PY" demo/report.py --crm output/crm.sqlite --rejects output/rejects.jsonl
echo
# The rejects and the run history are read from output/ when they exist.
html=$(.venv/bin/plg-report --crm-path output/crm.sqlite --output output/plg-report.html \
  --title "PLG demo: the product's accounts and users in the local CRM")
echo "HTML report (one file, opens offline in any browser): $html"

cat <<EOT

Where the results are:
  output/crm.sqlite        the local CRM (tables contacts, companies, associations, properties);
                           e.g. sqlite3 output/crm.sqlite "select email, properties from contacts limit 3"
  output/rejects.jsonl     records the CRM refused in the latest run, with the reason
  output/run-history.jsonl one line per run: counts per object and outcome, calls, rejects
  output/plg-report.html   the HTML report (again: .venv/bin/meltano invoke plg-report:render)
  output/plg-store.duckdb  the transform's store (every deduplicated message, traits, metrics)
  output/ledger.sqlite     what the target last wrote per record (unchanged records skip the CRM)
  $log    Meltano's log of this run
Run it again incrementally (only new archive files are read):
  .venv/bin/meltano --environment dev run plg-sync
EOT
