"""Backend metrics (`metrics_queries`, `metrics_endpoints`): the `metrics` stream's snapshots."""
