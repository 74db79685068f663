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
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MASK = "[masked]"

PII_PATTERNS = {
    "email": re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$"),
    "phone": re.compile(r"^(\+\d{1,3}[ .-]?)?(\(\d{1,4}\)[ .-]?)?\d{2,4}([ .-]?\d{2,4}){2,4}$"),
    "national_id": re.compile(
        r"^(\d{3}-\d{2}-\d{4}|[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]|\d{6}[-+A]\d{3}[0-9A-Y]"
        r"|\d{2}[01]\d[0-3]\d-?\d{4})$",
        re.IGNORECASE,
    ),
    "person_name": re.compile(r"^[A-Z][a-z'\u2019-]+( [A-Z]\.?)?( [A-Z][a-z'\u2019-]+){1,2}$"),
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
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


def detect_personal(col: str, values: Iterable[Any]) -> str | None:
    """The kind of personal data ``values`` (text) look like, or what the column's name says, or None."""
    texts = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    by_name = name_hint(col)
    texts = [v for v in texts if not _ISO_DATE.match(v)]
    if not texts:
        return by_name
    for kind in ("email", "national_id", "phone"):
        if sum(1 for v in texts if PII_PATTERNS[kind].match(v)) / len(texts) >= 0.5:
            return kind
    # a name-like pattern alone also matches places and titles, so it counts only on a column about names
    names = sum(1 for v in texts if PII_PATTERNS["person_name"].match(v)) / len(texts)
    if names >= 0.8 and "name" in col.lower() and by_name is None:
        return "person_name"
    return by_name


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
