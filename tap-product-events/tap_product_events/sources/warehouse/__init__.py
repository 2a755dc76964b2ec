"""Segment/RudderStack warehouse tables (`events_sql`), read on arrival through SQLAlchemy."""
