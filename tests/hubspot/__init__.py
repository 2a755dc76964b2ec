"""The benchmark of HubSpot call counts (bench_call_counts.py), kept here until bench/."""
