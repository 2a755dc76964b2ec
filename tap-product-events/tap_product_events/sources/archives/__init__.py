"""Segment/RudderStack JSON-lines archives (`events_paths`), read on arrival per file."""
