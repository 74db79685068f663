"""The compliance report fed by every pillar: all 72 NIST AI RMF 1.0 subcategories against the official list,
statuses (present, partial, missing, needs a human statement), evidence of each pillar turning its items
present as the records appear, and human statements recorded, audited and counted (SDK and CLI)."""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import polars as pl
import pytest
import typer
from sklearn.linear_model import LogisticRegression
from tests.mlops.pipelines.pipelines_example import numbers
from tests.server.conftest import start_server
from typer.testing import CliRunner

from triops import Workspace
from triops.cli import main
from triops.dataops.contracts import parse_contract
from triops.domain.clock import utc_ms
from triops.domain.ids import new_id
from triops.domain.usage import UsageRecord
from triops.errors import InvalidInputError, PermissionDeniedError
from triops.finops.budgets import new_budget
from triops.governance.framework_items import NIST_AI_RMF, PILLARS
from triops.governance.frameworks import Evidence, ItemResult, assess
from triops.governance.roles import load_principal
from triops.settings import Settings
from triops.store.repositories.tokens import create_token

OFFICIAL = Path(__file__).parent / "data" / "nist_ai_rmf_1_0_subcategories.txt"
POLICY = """\
name: approver-before-production
gate: model.stage
when: change.to_stage == "production"
rules:
  - name: always
    expr: "true"
approvals: {role: approver, count: 1}
"""
CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: scores
version: 1.0.0
status: active
schema:
  - name: scores
    properties:
      - {name: a, logicalType: number, required: true}
      - {name: b, logicalType: number}
"""


def official_ids() -> list[str]:
    lines = OFFICIAL.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_nist_report_lists_every_official_subcategory_in_order() -> None:
    ids = official_ids()
    assert len(ids) == 72 and len(set(ids)) == 72
    report = assess("nist-ai-rmf", {})
    assert [i.id for i in report.items] == ids
    assert [i.id for i in NIST_AI_RMF] == ids
    summary = report.to_dict()["summary"]
    assert sum(summary.values()) == 72
    assert summary["needs-statement"] > 0 and summary["present"] == 0


@pytest.mark.parametrize(
    ("item", "evidence", "stated", "status"),
    [
        ("GOVERN 2.2", {}, False, "needs-statement"),  # training: only a statement can show it
        ("GOVERN 2.2", {}, True, "present"),
        ("GOVERN 1.1", {}, False, "missing"),  # policy + inventory + a statement
        ("GOVERN 1.1", {"policy": 1}, False, "partial"),
        ("GOVERN 1.1", {"policy": 1, "inventory": 1}, False, "needs-statement"),
        ("GOVERN 1.1", {"policy": 1, "inventory": 1}, True, "present"),
        ("MEASURE 2.11", {}, False, "missing"),  # fairness: the store shows it, no statement needed
        ("MEASURE 2.11", {}, True, "partial"),  # a statement is evidence, not a fairness report
        ("MEASURE 2.11", {"fairness": 1}, False, "present"),
    ],
)
def test_item_status(item: str, evidence: dict[str, int], stated: bool, status: str) -> None:
    found = {k: [Evidence(k, f"{k} {i}", f"/api/v1/{k}/{i}") for i in range(n)] for k, n in evidence.items()}
    said = {item: [Evidence("statement", "said", "/api/v1/s")]} if stated else {}
    result = next(i for i in assess("nist-ai-rmf", found, said).items if i.id == item)
    assert result.status == status
    as_dict = result.to_dict()
    if result.statement is not None:
        assert f'--item "{item}"' in as_dict["statement"]["command"]
        assert as_dict["statement"]["api"] == "POST /api/v1/governance/compliance/nist-ai-rmf/statements"


# --------------------------------------------------------------------------------- pillars, one by one


def _governance(ws: Workspace) -> None:
    ws.governance.add_policies(POLICY)
    ws.governance.check_gate(
        {"gate": "model.stage", "subject_id": "m/1", "change": {"to_stage": "production"}}
    )


def _finops(ws: Workspace) -> None:
    ws.finops.set_budget(new_budget("project", "p", "month", Decimal("50"), "EUR", clock=ws.clock))
    now = int(ws.clock.now().timestamp() * 1000)
    record = UsageRecord(
        id=new_id(), run_id="r1", step_run_id=None, project="p", pipeline=None, step=None,
        started_ms=now - 3_600_000, ended_ms=now, wall_s=3600.0, cpu_s=3600.0, peak_rss_bytes=2**28,
        bytes_read=0, bytes_written=0, gpu_s=0.0, gpu_model=None, requested_cpu=1.0,
        requested_memory_gb=1.0, environment="local",
    )  # fmt: skip
    ws.finops.record_usage([record])


def _mlops(ws: Workspace) -> None:
    x = pl.DataFrame({"a": [0.0, 1.0, 2.0, 3.0] * 10, "b": [1.0, 0.0, 1.0, 0.0] * 10})
    y = [0, 1, 0, 1] * 10
    with ws.start_run("p", name="fit") as run:
        run.log_metric("auc", 0.7)
        model = LogisticRegression().fit(x.to_pandas(), y)
    version = ws.models.register("m", model, training_frame=x.to_pandas(), run_id=run.id, onnx=False,
                                 git_commit=None)  # fmt: skip
    frame = x.with_columns(pl.Series("y", y), pl.Series("g", ["f", "m"] * 20))
    ws.evaluate(version.ref, frame, target="y", sensitive=["g"], resamples=20)
    ws.models.card(version.ref, regenerate=True)  # the model card, drawn from the records


def _dataops(ws: Workspace) -> None:
    frame = pl.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.1, 0.2]})
    ws.datasets.register("scores", frame, contract=parse_contract(CONTRACT), project="p")
    ws.run_pipeline(numbers, {"n": 5}, project="p")  # a pipeline run's inputs and outputs: lineage


@dataclass(frozen=True)
class Pillar:
    name: str
    seed: Callable[[Workspace], None]
    framework: str
    item: str  # an item whose evidence this pillar (with those seeded before it) completes


# In this order each step adds one pillar's records; an item stays incomplete until its pillar is in.
STEPS = (
    Pillar("governance", _governance, "nist-ai-rmf", "GOVERN 1.2"),  # policy, gate evaluation
    Pillar("finops", _finops, "nist-ai-rmf", "MANAGE 2.1"),  # cost, budget
    Pillar("mlops", _mlops, "eu-ai-act", "Art. 11"),  # model card, model version, tracked run
    Pillar("dataops", _dataops, "eu-ai-act", "Art. 10"),  # contract, quality, versions, lineage (+ fairness)
)


def _items(ws: Workspace, framework: str) -> dict[str, ItemResult]:
    return {i.id: i for i in ws.governance.compliance_report(framework).items}


@dataclass
class Walk:
    ws: Workspace
    seen: list[tuple[Pillar, ItemResult, ItemResult, set[str]]]  # step, item before, item after, kinds shown


@pytest.fixture(scope="module")
def walk(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    """One store, the pillars added one at a time, the item of each recorded before and after its pillar."""
    home = tmp_path_factory.mktemp("pillars")
    shutil.copyfile(sqlite_template, home / "store.db")
    settings = Settings(
        home=home, audit_key_path=home / "keys" / "audit_ed25519", audit_witness_dir=home / "w"
    )
    ws = Workspace.open(f"sqlite:///{home / 'store.db'}", artifact_root=home / "a", settings=settings)
    seen = []
    for step in STEPS:
        before = _items(ws, step.framework)[step.item]
        step.seed(ws)
        after = _items(ws, step.framework)[step.item]
        report = ws.governance.compliance_report("eu-ai-act").to_dict()
        seen.append((step, before, after, {e["kind"] for i in report["items"] for e in i["evidence"]}))
    yield Walk(ws, seen)
    ws.close()


@pytest.mark.xdist_group("compliance-walk")  # with the next test on one worker: the walk is set up once
def test_each_pillar_feeds_its_items(walk: Walk) -> None:
    for done, (step, before, after, shown) in enumerate(walk.seen):
        pillar_kinds = set(PILLARS[step.name])
        assert before.status != "present" and pillar_kinds & set(before.missing), step
        assert after.status == "present", (step, after.missing)
        assert {e.kind for e in after.evidence} & pillar_kinds, step
        for later in STEPS[done + 1 :]:  # pillars not seeded yet still show nothing (a pipeline run is
            # also a tracked, metered run with lineage: those kinds come with the DataOps step's run)
            assert not shown & (set(PILLARS[later.name]) - {"run_tracking", "lineage", "cost", "usage"})
    eu = walk.ws.governance.compliance_report("eu-ai-act")
    present = {i.id for i in eu.items if i.status == "present"}
    assert {"Art. 10", "Art. 11", "Annex IV(2)", "Annex IV(4)", "Annex IV(6)"} <= present


@pytest.mark.xdist_group("compliance-walk")
def test_every_evidence_link_resolves_on_a_real_server(walk: Walk) -> None:
    ws = walk.ws
    ws.governance.record_statement("nist-ai-rmf", "GOVERN 2.3", "The CDO signs off every high-impact system.")
    reports = {f: ws.governance.compliance_report(f) for f in ("nist-ai-rmf", "eu-ai-act")}
    evidence = {e for r in reports.values() for i in r.items for e in i.evidence}
    assert {e.kind for e in evidence} >= {"statement", "audit_verified", "lineage", "fairness", "budget"}
    commands = {tuple(shlex.split(e.command)[:3]) for e in evidence if e.command}
    cli = typer.main.get_command(main.app)
    for words in commands:  # each command names a real `triops GROUP COMMAND` (or `triops COMMAND`)
        assert words[0] == "triops", words
        found = cli.commands.get(words[1])  # type: ignore[attr-defined]
        assert found is not None, words
        if hasattr(found, "commands") and len(words) > 2:
            assert words[2] in found.commands, words
    token = ws.store.write(lambda c: create_token(c, ws.settings.acting_user, "t", utc_ms(ws.clock.now())))[1]
    server, thread, url = start_server(ws)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
            for link in sorted({e.link for e in evidence}):
                assert client.get(link).status_code == 200, link
            served = client.get("/api/v1/governance/compliance/nist-ai-rmf").json()
        remote = Workspace.open(url, token=token)
        try:
            over_http = remote.governance.compliance_report("eu-ai-act")
        finally:
            remote.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    local = reports["nist-ai-rmf"].to_dict()
    assert [(i["id"], i["status"]) for i in served["items"]] == [
        (i["id"], i["status"]) for i in local["items"]
    ]
    assert [(i.id, i.status) for i in over_http.items] == [
        (i.id, i.status) for i in reports["eu-ai-act"].items
    ]


# ----------------------------------------------------------------------------------------- statements


def test_statement_is_recorded_audited_and_counts(sqlite_store_url: str, tmp_path: Path) -> None:
    ws = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    try:
        assert _items(ws, "nist-ai-rmf")["GOVERN 2.2"].status == "needs-statement"  # type: ignore[attr-defined]
        text = "All ML staff take the AI risk course yearly; partners sign the AI use policy."
        row = ws.governance.record_statement(
            "nist-ai-rmf", "govern  2.2", text, reference="https://intra/ai-training"
        )
        assert row["item"] == "GOVERN 2.2" and row["recorded_by"] == ws.principal.name
        item = _items(ws, "nist-ai-rmf")["GOVERN 2.2"]
        assert item.status == "present"  # type: ignore[attr-defined]
        (said,) = item.evidence  # type: ignore[attr-defined]
        assert said.kind == "statement" and said.link.endswith("/statements?item=GOVERN+2.2")
        (event,) = ws.governance.audit_events(object_id="nist-ai-rmf:GOVERN 2.2")
        assert event["action"] == "compliance.statement" and event["after"]["text"] == text
        assert ws.governance.statements("nist-ai-rmf", item="GOVERN 2.2")[0]["id"] == row["id"]
        with pytest.raises(InvalidInputError, match="has no item"):
            ws.governance.record_statement("nist-ai-rmf", "GOVERN 9.9", text)
        with pytest.raises(InvalidInputError, match="statement text is required"):
            ws.governance.record_statement("eu-ai-act", "Annex IV(7)", "   ")
        ws.governance.grant("vera", "viewer")
        ws.governance.grant("carl", "contributor")
    finally:
        ws.close()
    opened = Workspace.open(sqlite_store_url, artifact_root=tmp_path / "a", settings=Settings(home=tmp_path))
    with opened.store.connect() as conn:  # vera, in code (on a local store TRIOPS_USER names no one)
        viewer = opened.acting_as(load_principal(conn, "vera"))
    try:
        with pytest.raises(PermissionDeniedError, match=r"audit\.read"):
            viewer.governance.compliance_report("nist-ai-rmf")
        with pytest.raises(PermissionDeniedError, match=r"inventory\.write"):
            viewer.governance.record_statement("eu-ai-act", "Annex IV(8)", "kept in the DMS, ref 42")
    finally:
        opened.close()


def test_cli_statement_add_then_report_shows_it(sqlite_store_url: str) -> None:
    from triops.cli.main import app

    runner = CliRunner()
    store = ["--store", sqlite_store_url]
    added = runner.invoke(
        app,
        [*store, "compliance", "statement", "add", "--framework", "eu-ai-act", "--item", "Annex IV(7)",
         "--text", "EN ISO/IEC 42001 applied", "--json"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["item"] == "Annex IV(7)"
    text = runner.invoke(app, [*store, "compliance", "report", "--framework", "eu-ai-act"])
    assert text.exit_code == 0, text.output
    assert "needs a human statement" in text.stdout  # Annex IV(8) still does
    report = json.loads(
        runner.invoke(app, [*store, "compliance", "report", "--framework", "eu-ai-act", "--json"]).stdout
    )
    items = {i["id"]: i for i in report["items"]}
    assert items["Annex IV(7)"]["status"] == "present"
    assert items["Annex IV(8)"]["status"] == "needs-statement"
    assert "compliance statement add" in items["Annex IV(8)"]["statement"]["command"]
    bad = runner.invoke(app, [*store, "compliance", "statement", "add", "--framework", "eu-ai-act", "--item",
                              "Art. 99", "--text", "x"])  # fmt: skip
    assert bad.exit_code != 0 and "has no item 'Art. 99'" in str(bad.exception)


@pytest.mark.parametrize(
    ("link", "page"),
    [
        ("/api/v1/models/m/versions/2/evaluations", "/models/m/2"),
        ("/api/v1/datasets/scores/versions/1?project=p", "/datasets/p/scores/1"),
        ("/api/v1/runs/r-1", "/runs/r-1"),
        ("/api/v1/lineage/r-1", "/pipelines/r-1"),
        ("/api/v1/finops/costs/records?project=p", "/costs"),
        ("/api/v1/monitoring/m@v2/windows/0", "/models/m/2"),
        ("/api/v1/governance/audit/events?object_id=m%2F1", "/governance#audit"),
        ("/api/v1/governance/inventory", "/governance#inventory"),
        ("/api/v1/governance/compliance/eu-ai-act/statements?item=Annex+IV%287%29", "/governance#compliance"),
    ],
)
def test_the_web_page_links_evidence_to_the_page_that_shows_it(link: str, page: str) -> None:
    from triops.server.web.pages_governance import web_link

    assert web_link(link) == page
