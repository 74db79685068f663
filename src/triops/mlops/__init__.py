"""MLOps, folder by lifecycle phase: ``tracking`` (runs and their logs), ``pipelines`` (authoring, runner,
executors, cache, metering, lineage), ``registry`` (versions, signatures, safe model files, cards) and
``evaluation`` (metrics, bootstrap intervals, fairness, paired comparison)."""
