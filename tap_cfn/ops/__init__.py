"""Day-2 operations: drift detection and cost estimates (commands `drift` and `cost`)."""
