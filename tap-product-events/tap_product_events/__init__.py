"""tap-product-events."""
