"""dataops: masking salt table; mask restricted and personal values in stored profiles and samples

Revision ID: dat01
Revises: 0001
Create Date: 2026-11-30 15:09:02.153733
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "dat01"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataops_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_dataops_secrets")),
    )
    _mask_stored_versions()


# -- data migration: stored profiles and failing-row samples lose their personal values -------------------
# Self-contained on purpose (a migration must not change when the code it once used changes). Columns the
# profiler flagged as personal data, or whose stored values look like emails, phone numbers, national ids or
# people's names, keep counts only in profiles, and their sample cells become salted hashes (the same
# ``[masked:…]`` tokens triops writes from now on, keyed by the salt made here). A column only a contract
# classified (with values that do not look personal) cannot be recognised from the stored rows.

_PATTERNS = {
    "email": re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$"),
    "phone": re.compile(r"^(\+\d{1,3}[ .-]?)?(\(\d{1,4}\)[ .-]?)?\d{2,4}([ .-]?\d{2,4}){2,4}$"),
    "national_id": re.compile(
        r"^(\d{3}-\d{2}-\d{4}|[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]|\d{6}[-+A]\d{3}[0-9A-Y]"
        r"|\d{2}[01]\d[0-3]\d-?\d{4})$",
        re.IGNORECASE,
    ),
}
_NAME = re.compile(r"^[A-Z][a-z'\u2019-]+( [A-Z]\.?)?( [A-Z][a-z'\u2019-]+){1,2}$")
_WITHHELD: dict[str, Any] = {
    "min": None,
    "max": None,
    "mean": None,
    "std": None,
    "quantiles": {},
    "top_values": [],
    "histogram": None,
    "valid_values": None,
}


def _looks_personal(column: str, value: Any) -> str | None:
    if not isinstance(value, str) or re.match(r"^\d{4}-\d{2}-\d{2}", value.strip()):
        return None
    text = value.strip()
    for kind, pattern in _PATTERNS.items():
        if pattern.match(text):
            return kind
    if "name" in column.lower() and _NAME.match(text):
        return "person_name"
    return None


def _token(salt: bytes, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "[masked:" + hmac.new(salt, repr(value).encode("utf-8"), hashlib.sha256).hexdigest()[:12] + "]"


def _stored_values(column: dict[str, Any]) -> list[Any]:
    values = [column.get("min"), column.get("max"), *(column.get("valid_values") or [])]
    return values + [pair[0] for pair in column.get("top_values") or [] if isinstance(pair, list | tuple)]


def _mask_stored_versions() -> None:
    conn = op.get_bind()
    versions = sa.table(
        "dataset_versions",
        sa.column("id", sa.String),
        sa.column("profile", sa.JSON),
        sa.column("quality", sa.JSON),
    )
    rows = conn.execute(sa.select(versions.c.id, versions.c.profile, versions.c.quality)).all()
    if not rows:
        return
    salt = secrets.token_bytes(32)
    conn.execute(
        sa.table(
            "dataops_secrets",
            sa.column("name", sa.String),
            sa.column("value", sa.LargeBinary),
            sa.column("created_ms", sa.BigInteger),
        )
        .insert()
        .values(name="masking-salt", value=salt, created_ms=int(time.time() * 1000))
    )
    for version_id, profile, quality in rows:
        flagged: dict[str, str] = {}
        for name, column in ((profile or {}).get("columns") or {}).items():
            kind = column.get("personal_data") or next(
                (k for v in _stored_values(column) if (k := _looks_personal(name, v))), None
            )
            if kind:
                flagged[name] = f"personal data: {kind}"
        for result in (quality or {}).get("results") or []:
            for sample in result.get("samples") or []:
                for name, value in (sample.get("values") or {}).items():
                    kind = _looks_personal(name, value)
                    if kind and name not in flagged:
                        flagged[name] = f"personal data: {kind}"
        if not flagged:
            continue
        if profile:
            profile = dict(profile)
            columns = dict(profile.get("columns") or {})
            for name, reason in flagged.items():
                if name in columns:
                    columns[name] = {**columns[name], **_WITHHELD, "protected": reason}
            profile["columns"] = columns
        if quality:
            quality = dict(quality)
            results = []
            for result in quality.get("results") or []:
                samples = [
                    {
                        **s,
                        "values": {
                            k: _token(salt, v) if k in flagged else v
                            for k, v in (s.get("values") or {}).items()
                        },
                    }
                    for s in result.get("samples") or []
                ]
                results.append({**result, "samples": samples})
            quality["results"] = results
            quality["protected"] = {**(quality.get("protected") or {}), **flagged}
        conn.execute(
            versions.update().where(versions.c.id == version_id).values(profile=profile, quality=quality)
        )


def downgrade() -> None:
    op.drop_table("dataops_secrets")
