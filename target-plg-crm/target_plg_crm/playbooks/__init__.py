"""Playbooks: when a record crosses a line, a task for the right person and/or a webhook."""
