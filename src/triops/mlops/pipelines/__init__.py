"""Pipelines: authoring (``@step``/``@pipeline``), the DAG, the runner and its executors, the step cache,
materializers, per-step metering, hooks and lineage."""
