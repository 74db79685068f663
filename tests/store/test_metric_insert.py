"""Metric points as the store writes them (many-row statements on SQLite, ``unnest`` on PostgreSQL): every
point kept with NaN and infinities, batches of any size, and each key's latest value by step, then time."""

from __future__ import annotations

import math

import sqlalchemy as sa

from triops.store.engine import Store
from triops.store.repositories import runs as runs_repo
from triops.store.tables import latest_metrics

T0 = 1_800_000_000_000
RUN = "01a00000-0000-7000-8000-0000000000aa"


def test_a_batch_of_any_size_keeps_every_point_and_the_latest_by_step_then_time(store: Store) -> None:
    def create(conn: sa.Connection) -> None:
        project = runs_repo.ensure_project(conn, "points", T0)
        runs_repo.create_run(
            conn, run_id=RUN, project_id=project, name="r", kind="run", start_ms=T0, user_name=None, tags={}
        )

    store.write(create)
    # 2,345 rows: full statements and every power-of-two remainder on SQLite
    rows = [("loss", i * 0.5, i, T0 + i) for i in range(2_340)]
    rows += [("odd", math.nan, 1, T0), ("odd", math.inf, 7, T0), ("odd", -math.inf, 7, T0)]
    rows += [("odd", 3.0, 2, T0 + 9), ("loss", -1.0, 0, T0)]  # older step: not the latest
    store.write(lambda conn: runs_repo.insert_metrics(conn, RUN, rows))
    store.write(lambda conn: runs_repo.insert_metrics(conn, RUN, [("odd", math.nan, 7, T0)]))
    with store.connect() as conn:
        loss = runs_repo.metric_history(conn, RUN, "loss")
        odd = runs_repo.metric_history(conn, RUN, "odd")
        latest = dict(
            conn.execute(
                sa.select(latest_metrics.c.key, latest_metrics.c.is_nan).where(latest_metrics.c.run_id == RUN)
            ).all()
        )
        best = conn.execute(
            sa.select(latest_metrics.c.value, latest_metrics.c.step).where(
                latest_metrics.c.run_id == RUN, latest_metrics.c.key == "loss"
            )
        ).one()
    assert len(loss) == 2_341
    assert sorted(m.value for m in loss)[-1] == 2_339 * 0.5
    assert sorted((m.step, m.value) for m in odd if not math.isnan(m.value)) == [
        (2, 3.0),
        (7, -math.inf),
        (7, math.inf),
    ]
    assert sum(math.isnan(m.value) for m in odd) == 2
    assert tuple(best) == (2_339 * 0.5, 2_339)
    # the last point of (step 7, same time) wins: the NaN of the second batch
    assert bool(latest["odd"]) is True
