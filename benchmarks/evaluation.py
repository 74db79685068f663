"""Benchmark: evaluating 100,000 rows with 1,000 bootstrap resamples and two sensitive attributes (<= 2 s).

Ours is ``triops.mlops.evaluation.evaluate.evaluate_classification``: nine metrics with 95 % bootstrap intervals
(vectorised) and fairlearn MetricFrame slices on ``sex`` and ``nwhite``, with bootstrap intervals on their
fairness gaps. The peer is MLflow's
``mlflow.models.evaluate`` on the same predictions (static-dataset mode, default classifier evaluator,
against a temporary SQLite tracking store). MLflow computes point metrics only (no intervals, no slices),
so the ratio understates the work triops does per second.

The ratio is MLflow's time over ours on the same rows; a missing MLflow is NOT MEASURED (fails the run
unless ``--allow-missing``).

    .venv-bench/bin/python benchmarks/evaluation.py [--quick] [--allow-missing]
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _report import Report, measure_peer, parse_args

from triops.mlops.evaluation.evaluate import evaluate_classification

TARGET_S = 2.0


def data(n: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], n, p=[0.76, 0.24])
    nwhite = rng.choice(["no", "yes"], n, p=[0.85, 0.15])
    x = rng.normal(size=n) + 0.2 * (sex == "male")
    y = (x + rng.normal(size=n) > 0).astype(int)
    p = 1 / (1 + np.exp(-1.4 * x))
    return pd.DataFrame({"y": y, "p": p, "pred": (p >= 0.5).astype(int), "sex": sex, "nwhite": nwhite})


def ours(frame: pd.DataFrame, resamples: int) -> float:
    start = time.perf_counter()
    result = evaluate_classification(
        frame.y.to_numpy(),
        frame.p.to_numpy(),
        sensitive={"sex": frame.sex.to_numpy(), "nwhite": frame.nwhite.to_numpy()},
        resamples=resamples,
    )
    elapsed = time.perf_counter() - start
    assert resamples == 0 or result.metrics["roc_auc"].low is not None
    return elapsed


def mlflow_evaluate(frame: pd.DataFrame) -> float:
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        # artifacts (MLflow writes plots) go to the temporary directory too, not ./mlruns
        experiment = mlflow.create_experiment("bench-evaluation", artifact_location=Path(tmp).as_uri())
        mlflow.set_experiment(experiment_id=experiment)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            timings = []
            for rows in (frame.head(1000), frame):  # the first call pays MLflow's lazy imports
                start = time.perf_counter()
                with mlflow.start_run():
                    mlflow.models.evaluate(
                        data=rows[["y", "pred"]],
                        targets="y",
                        predictions="pred",
                        model_type="classifier",
                        evaluator_config={"log_model_explainability": False},
                    )
                timings.append(time.perf_counter() - start)
            return timings[-1]


def main() -> None:
    args = parse_args(__doc__)
    report = Report.from_args("benchmarks/evaluation.py", args)
    n, resamples = (10_000, 200) if args.quick else (100_000, 1_000)
    frame = data(n)
    ours(frame.head(1000), 10)  # imports and first-call set-up are not what is measured
    ours_s = min(ours(frame, resamples) for _ in range(2))
    peer_s, why = measure_peer(lambda: mlflow_evaluate(frame))
    points_s = min(ours(frame, 0) for _ in range(2))
    report.row(
        f"{n:,} rows: metrics + 95 % intervals ({resamples:,} resamples) + 2 slices",
        ours_s,
        "s",
        peer=peer_s,
        peer_name="MLflow evaluate (point metrics only)",
        note=why,
        limit=TARGET_S,
    )
    report.row(
        f"{n:,} rows: metrics + 2 slices (no intervals)",
        points_s,
        "s",
        peer=peer_s,
        peer_name="MLflow evaluate (point metrics only)",
        note=why,
    )
    report.finish()


if __name__ == "__main__":
    main()
