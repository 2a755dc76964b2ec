"""`python -m tap_product_events`: the same command as `tap-product-events`."""

from tap_product_events.tap import TapProductEvents

TapProductEvents.cli()
