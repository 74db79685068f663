"""SQL cost totals (the web app's costs page) agree with FinOps' polars rollup, per group and currency."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.finops.conftest import usage, write_catalog

from triops import Workspace
from triops.errors import InvalidInputError
from triops.governance.rbac import Principal
from triops.settings import Settings
from triops.store.repositories.cost_totals import cost_totals


@pytest.mark.parametrize("by", ["project", "pipeline", "step", "team", "run"])
def test_sql_totals_match_the_finops_report(store_url: str, tmp_path: Path, by: str) -> None:
    settings = Settings(home=tmp_path, price_catalog=str(write_catalog(tmp_path)))
    with Workspace.open(store_url, artifact_root=tmp_path / "a", settings=settings) as opened:
        ws = opened.acting_as(Principal.owner("admin"))  # on PostgreSQL the OS user holds no role by itself
        ws.finops.record_usage(
            [
                usage(project=p, run_id=f"{p}-{i}", pipeline=f"pl{i % 2}", step=f"s{i % 3}", environment=env)
                for i in range(9)
                for p, env in (("a", "lab"), ("b", "lab"))
            ]
        )
        expected = {
            tuple(str(v) for k, v in r.items() if k not in ("cost_micros", "records", "source")): (
                int(r["cost_micros"]),
                int(r["records"]),
            )
            for r in ws.finops.report(by).to_dicts()
        }
        with ws.store.connect() as conn:
            found = cost_totals(conn, by)
            only_a = cost_totals(conn, by, ["a"])
            with pytest.raises(InvalidInputError, match="colour"):
                cost_totals(conn, "colour")
        # FinOps' report refuses mixed currencies without rates; the totals keep each currency apart
        ws.finops.record_usage([usage(project="c", run_id="c-0", environment="eu")])
        with ws.store.connect() as conn:
            mixed = cost_totals(conn, by)
        eur = ws.finops.costs(project="c")["cost_micros"].sum()
    got = {
        tuple(str(v) for k, v in r.items() if k not in ("cost_micros", "records")): (
            r["cost_micros"],
            r["records"],
        )
        for r in found
    }
    assert got == expected
    assert sum(r["records"] for r in only_a) == 9
    assert {r["currency"] for r in mixed} == {"USD", "EUR"}
    assert sum(r["cost_micros"] for r in mixed if r["currency"] == "EUR") == eur
