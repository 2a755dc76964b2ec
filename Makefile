# The two commands of the README: `make demo` and `make test`. Both set up what they need.
.PHONY: setup demo test lint docs bench test-installed

setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh

test: setup lint
	.venv/bin/python -m pytest -n 2 -q tests

lint: setup
	.venv/bin/ruff check plg-settings tap-product-events transform target-plg-crm report tests demo scripts bench
	.venv/bin/ruff format --check plg-settings tap-product-events transform target-plg-crm report tests demo scripts bench
	.venv/bin/mypy plg-settings/plg_settings tap-product-events/tap_product_events transform/plg_transform target-plg-crm/target_plg_crm report/plg_report

# Regenerates what is derived from the plugins' --about: the READMEs' settings tables, the
# Meltano Hub definitions in meltano-hub/ and meltano.yml's plugin definitions.
docs: setup
	.venv/bin/python scripts/update_readme_settings.py
	.venv/bin/python scripts/update_plugin_definitions.py

bench: setup
	.venv/bin/python bench/pipeline_throughput.py

# The tap's source tests against the tap as users install it: a venv of its own, built by
# pip from the package directories without the lock (the newest versions the ranges allow).
test-installed: setup
	rm -rf .venv-installed
	.venv/bin/python tests/installed/installed_venv.py .venv-installed duckdb,postgres,s3
	PLG_TAP_EXECUTABLE=$(CURDIR)/.venv-installed/bin/tap-product-events \
	  .venv/bin/python -m pytest -n 2 -q tests/installed tests/tap_warehouse tests/tap_archives tests/tap_metrics
