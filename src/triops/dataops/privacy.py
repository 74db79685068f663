"""Data minimisation: which columns hold restricted or personal data, and how their cells are shown.

A column is *protected* when the contract classifies it ``restricted``/``confidential`` (see
``contracts.PROTECTED_CLASSES``) or when its values (or, for a few unambiguous names, its name) look like
personal data: email addresses, phone numbers, national ids (US SSN, UK NINO, Nordic personal numbers) and
people's names (a name-like value in a column named like one).

Protected cells never leave a check or a profile in clear: a failing-row sample shows a salted hash
(``[masked:1a2b3c4d5e6f]``, HMAC-SHA256 keyed by the workspace's salt, so equal values show equal tokens
and nobody without the salt can test a guess) or, without a salt, ``[masked]``. Profiles of protected
columns keep counts and lengths, never values. ``Privacy(reveal=True)`` shows clear values; only a service
that has checked the ``dataset.read_restricted`` permission (and audited it) may ask for that.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MASK = "[masked]"

NAME_HINTS = {
    "email": ("email", "e_mail", "mail", "email_address"),
    "phone": ("phone", "mobile", "tel", "telephone", "phone_number"),
    "national_id": (
        "ssn",
        "nino",
        "ni_number",
        "national_id",
        "social_security",
        "passport",
        "tax_id",
        "personnummer",
    ),
    "person_name": (
        "first_name",
        "last_name",
        "surname",
        "full_name",
        "given_name",
        "forename",
        "person_name",
    ),
}


def name_hint(col: str) -> str | None:
    low = col.lower().rsplit(".", 1)[-1]
    return next((kind for kind, hints in NAME_HINTS.items() if low in hints), None)


PII_PATTERNS = {
    "email": r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$",
    "national_id": r"(?i)^(\d{3}-\d{2}-\d{4}|[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]"
    r"|\d{6}[-+A]\d{3}[0-9A-Y]|\d{2}[01]\d[0-3]\d-?\d{4})$",
    "phone": r"^(\+\d{1,3}[ .-]?)?(\(\d{1,4}\)[ .-]?)?\d{2,4}([ .-]?\d{2,4}){2,4}$",
    "person_name": r"^[A-Z][a-z'\x{2019}-]+( [A-Z]\.?)?( [A-Z][a-z'\x{2019}-]+){1,2}$",
}


def detect_personal_columns(frame: Any, columns: Iterable[str], limit: int = 1000) -> dict[str, str]:
    """Text columns of a polars frame that look like personal data (column → kind), vectorised: of the
    first ``limit`` non-empty values that are not ISO dates, half or more match the email, national id or
    phone pattern; or 80% look like people's names in a column named like one; or the name says so."""
    import polars as pl

    cols = list(columns)
    if not cols:
        return {}
    exprs: list[Any] = []
    for c in cols:
        text = pl.col(c).drop_nulls().head(limit).str.strip_chars()
        kept = text.filter((text != "") & ~text.str.contains(r"^\d{4}-\d{2}-\d{2}"))
        exprs.append(kept.len().alias(f"{c}\x00n"))
        exprs += [kept.str.contains(p).sum().alias(f"{c}\x00{k}") for k, p in PII_PATTERNS.items()]
    row = frame.select(exprs).row(0, named=True)
    out: dict[str, str] = {}
    for c in cols:
        n = int(row[f"{c}\x00n"])
        kind = name_hint(c)
        if n:
            share = {k: row[f"{c}\x00{k}"] / n for k in PII_PATTERNS}
            found = next((k for k in ("email", "national_id", "phone") if share[k] >= 0.5), None)
            if found is None and share["person_name"] >= 0.8 and "name" in c.lower() and kind is None:
                found = "person_name"
            kind = found or kind
        if kind is not None:
            out[c] = kind
    return out


@dataclass(frozen=True, slots=True)
class Privacy:
    """How protected cells are shown: hashed with ``salt`` (masked when None), or in clear if ``reveal``."""

    salt: bytes | None = None
    reveal: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)
    """More columns to protect (name → reason), e.g. those a stored profile flagged."""

    def token(self, value: Any) -> Any:
        return mask_value(value, self.salt)


def mask_value(value: Any, salt: bytes | None) -> Any:
    if value is None:
        return None
    if salt is None:
        return MASK
    digest = hmac.new(salt, repr(_canonical(value)).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"[masked:{digest[:12]}]"


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def mask_sample(values: Mapping[str, Any], protected: Mapping[str, str], privacy: Privacy) -> dict[str, Any]:
    """One sample row's values with protected cells (top-level or nested in an object) masked."""
    if privacy.reveal or not protected:
        return dict(values)
    out: dict[str, Any] = {}
    for col, value in values.items():
        if col in protected:
            out[col] = privacy.token(value)
        elif isinstance(value, dict) and any(p.startswith(f"{col}.") for p in protected):
            out[col] = mask_sample(
                value,
                {p[len(col) + 1 :]: r for p, r in protected.items() if p.startswith(f"{col}.")},
                privacy,
            )
        else:
            out[col] = value
    return out


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[masked")
