"""MLOps: tracking, pipelines (authoring, runner, executors, cache, metering, lineage), registry, evaluation,
fairness, serialization and model cards."""
