"""Benchmarks of the suite: throughput, memory and CRM call counts (see README "Speed")."""
