"""Search plans chosen from counts (a rare conjunct driving the query, a name-prefix range, an ordering by a
param walked value by value) return exactly the runs and order the filter's reference meaning gives, on
SQLite and PostgreSQL. The expected pages are computed in Python with ``triops.domain.filters.evaluate``."""

from __future__ import annotations

import random
from typing import Any

from triops.domain.filters import Field, OrderBy, evaluate, parse_filter, parse_orderings
from triops.store.engine import Store
from triops.store.repositories import runs as repo
from triops.store.repositories.search import search_run_ids
from triops.store.repositories.search_plans import choose_driver
from triops.store.tables import latest_metrics, params, runs, tags

NAMES = ["cv-1", "CV-10", "Cv-1x", "cv-2", "cV-19", "ÇV-1", "cv_1", "r-1", "cv-"]


def _records(n: int = 240) -> list[dict[str, Any]]:
    rng = random.Random(3)
    records = []
    for i in range(n):
        record: dict[str, Any] = {
            "id": f"run-{i:04d}",
            "start": 1_000 + i // 2,  # pairs share a start: the id breaks the tie
            "attribute": {"name": NAMES[i % len(NAMES)] if i % 3 else f"r{i}", "status": "FINISHED"},
            "param": {"model": rng.choice(["rf", "lr", "gb"])},
            "tag": {"team": "x" if i % 40 == 7 else rng.choice("ab")},
            "metric": {"auc": rng.random()},
        }
        if i % 4:
            record["param"]["seed"] = f"s{rng.randrange(20):02d}"  # 20 values: more than walked one by one
        records.append(record)
    return records


def _load(store: Store, records: list[dict[str, Any]]) -> None:
    def write(conn: Any) -> None:
        project_id = repo.ensure_project(conn, "p", 0)
        other = repo.ensure_project(conn, "other", 0)
        for k, r in enumerate(records):
            conn.execute(
                runs.insert(),
                {
                    "id": r["id"],
                    "project_id": other if k % 17 == 0 else project_id,
                    "name": r["attribute"]["name"],
                    "kind": "tracked",
                    "status": "FINISHED",
                    "start_ms": r["start"],
                },
            )
            r["project"] = "other" if k % 17 == 0 else "p"
        conn.execute(
            params.insert(),
            [{"run_id": r["id"], "key": k, "value": v} for r in records for k, v in r["param"].items()],
        )
        conn.execute(
            tags.insert(),
            [{"run_id": r["id"], "key": k, "value": v} for r in records for k, v in r["tag"].items()],
        )
        conn.execute(
            latest_metrics.insert(),
            [
                {"run_id": r["id"], "key": "auc", "value": r["metric"]["auc"], "step": 0, "timestamp_ms": 0}
                for r in records
            ],
        )

    store.write(write)


def _expected(records: list[dict[str, Any]], text: str, order: OrderBy | None) -> list[str]:
    node = parse_filter(text)
    rows = [r for r in records if r["project"] == "p" and evaluate(node, r)]
    rows.sort(key=lambda r: (r["start"], r["id"]), reverse=True)
    if order is None:
        return [r["id"] for r in rows]
    key = order.field.key
    present = [r for r in rows if key in r["param"]]
    present.sort(key=lambda r: r["param"][key].encode(), reverse=order.descending)  # stable: newest first
    return [r["id"] for r in present + [r for r in rows if key not in r["param"]]]


FILTERS = [
    "tags.team = 'x'",
    "tags.team = 'x' and metrics.auc > 0.3 and params.model != 'lr'",
    "params.model in ('rf', 'gb') and tags.team = 'x'",
    "metrics.auc <= 0.02",
    "name ilike 'CV-1%'",
    "name like 'cv-1%'",
    "name ilike 'cv_1%' and tags.team != 'x'",
    "",
]


def test_planned_searches_return_the_reference_pages(store: Store) -> None:
    # one test per backend: a fresh PostgreSQL store costs seconds to set up
    records = _records()
    _load(store, records)
    with store.connect() as conn:
        _check_newest_first(conn, records)
        _check_driver_choice(conn)
        _check_param_orderings(conn, records)


def _check_newest_first(conn: Any, records: list[dict[str, Any]]) -> None:
    for text in FILTERS:
        expected = _expected(records, text, None)
        for limit, offset in ((2, 1), (3, 0), (500, 0), (4, len(expected))):
            ids = search_run_ids(
                conn, project="p", node=parse_filter(text), order_by=[], limit=limit, offset=offset
            )
            assert ids == expected[offset : offset + limit], (text, limit, offset)


def _check_driver_choice(conn: Any) -> None:
    scope = runs.select()
    rare = choose_driver(conn, parse_filter("metrics.auc > 0.3 and tags.team = 'x'"), scope, 2)
    assert rare is not None and rare.conjunct == parse_filter("tags.team = 'x'")
    assert choose_driver(conn, parse_filter("tags.team = 'a'"), scope, 2) is None


def _check_param_orderings(conn: Any, records: list[dict[str, Any]]) -> None:
    for key in ("model", "seed"):  # 3 values; 20 values (more than are walked one by one)
        for text in ("", f"params.{key} != 'rf' and tags.team != 'x'"):
            for direction in ("asc", "desc"):
                order = parse_orderings([f"params.{key} {direction}"])
                assert order[0].field == Field("param", key)
                expected = _expected(records, text, order[0])
                for limit, offset in ((7, 0), (10, 55), (50, len(expected) - 20), (5, 400)):
                    ids = search_run_ids(
                        conn, project="p", node=parse_filter(text), order_by=order, limit=limit, offset=offset
                    )
                    assert ids == expected[offset : offset + limit], (text, direction, limit, offset)
