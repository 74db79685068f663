"""Data minimisation: restricted and personal values never stored or printed in clear; clear values only with
``dataset.read_restricted``, audited; stored versions from before are cleaned by migration dat01."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from triops.dataops.checks import check
from triops.dataops.contracts import parse_contract
from triops.dataops.privacy import MASK, Privacy, mask_value
from triops.dataops.profile import profile
from triops.errors import PermissionDeniedError
from triops.governance.rbac import Principal, Role
from triops.store.engine import Store, create_store
from triops.store.tables_governance import audit_events
from triops.workspace import Workspace

EMAILS = [f"person{i}@example.org" for i in range(60)]
NINOS = [f"AB{i:06d}C" for i in range(60)]
CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: claims
version: 1.0.0
status: active
schema:
  - name: claims
    properties:
      - name: id
        logicalType: integer
        required: true
      - name: email
        logicalType: string
      - name: nino
        logicalType: string
      - name: sex
        logicalType: string
        classification: restricted
      - name: amount
        logicalType: number
        logicalTypeOptions: {minimum: 0}
"""


def claims() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(range(60)),
            "email": EMAILS,
            "nino": NINOS,
            "sex": ["female", "male"] * 30,
            "amount": [-1.0 if i % 3 == 0 else 10.0 for i in range(60)],
        }
    )


def _clear_values_in(text: str) -> list[str]:
    return [v for v in [*EMAILS, *NINOS, "female"] if v in text]


def test_failing_row_samples_mask_restricted_and_personal_cells() -> None:
    report = check(parse_contract(CONTRACT), claims(), privacy=Privacy(salt=b"s" * 32))
    assert set(report.protected) == {"email", "nino", "sex"}
    assert report.protected["sex"] == "classification: restricted"
    assert report.protected["email"] == "personal data: email"
    dumped = json.dumps(report.to_dict())
    assert _clear_values_in(dumped) == []
    sample = next(r for r in report.results if r.rule == "amount.range").samples[0]
    assert sample["values"]["email"].startswith("[masked:") and sample["values"]["amount"] == -1.0


def test_equal_values_give_equal_tokens_only_under_the_same_salt() -> None:
    assert mask_value("a@b.org", b"1" * 32) == mask_value("a@b.org", b"1" * 32)
    assert mask_value("a@b.org", b"1" * 32) != mask_value("a@b.org", b"2" * 32)
    assert mask_value("a@b.org", None) == MASK and mask_value(None, b"1") is None


def test_profiles_keep_counts_and_lengths_not_values() -> None:
    prof = profile(claims(), protected={"sex": "restricted"}).to_dict()
    for name in ("email", "nino", "sex"):
        column = prof["columns"][name]
        assert column["protected"]
        assert (column["min"], column["max"], column["top_values"], column["valid_values"]) == (
            None,
            None,
            [],
            None,
        )
        assert column["distinct"] > 0 and column["length_max"] >= column["length_min"] > 0
    assert _clear_values_in(json.dumps(prof)) == []
    assert prof["columns"]["amount"]["min"] == -1.0  # other columns keep their statistics


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.open(f"sqlite:///{tmp_path / 'ws.db'}", artifact_root=tmp_path / "artifacts")
    yield ws
    ws.close()


def test_stored_versions_hold_no_personal_values(workspace: Workspace) -> None:
    registered = workspace.datasets.register("claims", claims(), contract=parse_contract(CONTRACT))
    stored = workspace.datasets.get("claims").to_dict()
    assert registered.report is not None and not registered.report.passed
    assert _clear_values_in(json.dumps(stored, default=str)) == []
    samples = [s for r in stored["quality"]["results"] for s in r["samples"]]
    assert samples and all(s["values"]["nino"].startswith("[masked:") for s in samples)


def test_clear_values_need_the_permission_and_are_audited(workspace: Workspace) -> None:
    contract = parse_contract(CONTRACT)
    viewer = workspace.acting_as(Principal("vic", {"*": frozenset({Role.VIEWER})}))
    with pytest.raises(PermissionDeniedError, match=r"dataset\.read_restricted"):
        viewer.datasets.check(contract, claims(), reveal=True)
    admin = workspace.acting_as(Principal.owner("ada"))
    report = admin.datasets.check(contract, claims(), reveal=True)
    assert not report.masked and "person0@example.org" in json.dumps(report.to_dict())
    with workspace.store.connect() as conn:
        actions = conn.execute(sa.select(audit_events.c.action, audit_events.c.actor)).all()
    assert ("dataset.restricted_read", "ada") in [tuple(a) for a in actions]
    assert ("dataset.restricted_read", "vic") not in [tuple(a) for a in actions]


def test_migration_dat01_masks_versions_stored_before(tmp_path: Path) -> None:
    from alembic import command

    from triops.store.migrate import _alembic_config, upgrade

    store: Store = create_store(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(_alembic_config(store), "0001")  # type: ignore[arg-type]
    profile_json = {
        "row_count": 2,
        "columns": {
            "email": {
                "dtype": "String",
                "personal_data": "email",
                "min": EMAILS[0],
                "max": EMAILS[1],
                "top_values": [[EMAILS[0], 1]],
                "distinct": 2,
                "null_count": 0,
            },
            "ref": {
                "dtype": "String",
                "personal_data": None,
                "min": NINOS[0],
                "max": NINOS[1],
                "distinct": 2,
                "null_count": 0,
                "top_values": [[NINOS[0], 1]],
            },
            "n": {"dtype": "Int64", "min": 1, "max": 2, "distinct": 2, "null_count": 0},
        },
    }
    quality = {
        "passed": False,
        "results": [
            {
                "rule": "n.range",
                "samples": [{"row": 1, "values": {"email": EMAILS[0], "ref": NINOS[0], "n": 1}}],
            }
        ],
    }
    with store.begin() as conn:
        conn.execute(sa.text("INSERT INTO projects (id, name, created_ms) VALUES ('p', 'p', 0)"))
        conn.execute(
            sa.text(
                "INSERT INTO dataset_versions (id, project_id, name, version, content_hash, row_count, schema, "
                "profile, quality, passed, created_ms) VALUES ('v', 'p', 'd', 1, 'h', 2, '{}', :p, :q, 0, 0)"
            ),
            {"p": json.dumps(profile_json), "q": json.dumps(quality)},
        )
    upgrade(store)
    with store.connect() as conn:
        prof, qual = conn.execute(sa.text("SELECT profile, quality FROM dataset_versions")).one()
        salts = conn.execute(sa.text("SELECT COUNT(*) FROM dataops_secrets")).scalar()
    store.dispose()
    assert _clear_values_in(prof + qual) == []
    cleaned = json.loads(prof)["columns"]
    assert cleaned["email"]["protected"] == "personal data: email"
    assert cleaned["ref"]["protected"] == "personal data: national_id"  # recognised from its values
    assert cleaned["n"]["max"] == 2
    assert json.loads(qual)["results"][0]["samples"][0]["values"]["n"] == 1
    assert salts == 1
