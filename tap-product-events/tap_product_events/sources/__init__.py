"""The tap's sources, one package each: `archives`, `warehouse` and `metrics`."""
