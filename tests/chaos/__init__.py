"""Chaos tests: kills, stale and lost files, hostile archives; the CRM ends as the clean run's."""
