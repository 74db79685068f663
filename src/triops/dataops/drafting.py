"""``triops contract init``: a first contract for the NEXT batch of data like this one, not for this batch's
defects, in ODCS v3.1.0, with every inference written beside the property as a YAML comment.

What it infers, and why:
- type: the profiled type; a text column whose values are numbers but for a few tokens (``N/A``, ``-``, …)
  becomes numeric, and the tokens become a ``missingValues`` rule (counted as missing, not wrong);
- required: no nulls seen; unique: every value distinct in an integer or text column that looks like a key
  (its name, or consecutive integers);
- ranges: widened by half the observed span and rounded outwards (never below 0 when nothing was), shares
  in [0, 1] kept at [0, 1] — a range as tight as one batch would fail the next one;
- value sets: only for low-cardinality text whose values look clean (no padding, no case variants, no
  placeholders, no rare one-off values);
- classification: ``restricted`` for columns that look like personal data.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import polars as pl
import yaml
from open_data_contract_standard.model import (
    DataQuality,
    OpenDataContractStandard,
    SchemaObject,
    SchemaProperty,
)

from triops.dataops.contracts import WRITTEN_API_VERSION, Contract, dump_contract
from triops.dataops.profile import ColumnProfile, DatasetProfile, profile
from triops.dataops.sources import Source

VALUE_SET_MAX = 12
SENTINEL_MAX = 3
NUMERIC_SHARE = 0.9
_PLACEHOLDERS = {
    "",
    "n/a",
    "na",
    "nan",
    "null",
    "none",
    "-",
    "--",
    "?",
    "unknown",
    "missing",
    "tbd",
    "#n/a",
    "nil",
}
_KEY_NAME = re.compile(r"(^|_)(id|key|uuid|code|ref|nr|no|number)$|^rownames$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Inference:
    column: str
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.column}: {self.what} — {self.why}"


@dataclass(frozen=True, slots=True)
class Draft:
    contract: Contract
    inferences: tuple[Inference, ...]

    def yaml(self) -> str:
        return with_comments(dump_contract(self.contract), self.inferences)


def draft_contract(source: Source, *, name: str | None = None, contract_id: str | None = None) -> Draft:
    prof = profile(source)
    numeric_text = _numeric_text_columns(source, prof)
    notes: list[Inference] = []
    props = [_property(col, prof, numeric_text.get(col.name), notes) for col in prof.columns]
    label = name or source.name
    obj = SchemaObject(name=label, physicalType="table", properties=props)
    obj.quality = [DataQuality(name="not_empty", metric="rowCount", mustBeGreaterThan=0, severity="error")]
    contract = OpenDataContractStandard(
        apiVersion=WRITTEN_API_VERSION,
        kind="DataContract",
        id=contract_id or label,
        name=label,
        version="0.1.0",
        status="draft",
        **{"schema": [obj]},
    )
    return Draft(contract, tuple(notes))


def _property(
    col: ColumnProfile, prof: DatasetProfile, numeric: dict[str, Any] | None, notes: list[Inference]
) -> SchemaProperty:
    rows = prof.row_count
    logical = col.logical_type
    prop = SchemaProperty(name=col.name, physicalType=col.dtype or None)
    quality: list[DataQuality] = []
    if numeric is not None:
        logical = numeric["logical"]
        tokens = numeric["tokens"]
        share = 100.0 * numeric["token_rows"] / max(rows, 1)
        limit = max(1.0, math.ceil(share * 2))
        quality.append(
            DataQuality(
                name=f"{col.name}_missing",
                metric="missingValues",
                arguments={"missingValues": [None, *tokens]},
                unit="percent",
                mustBeLessOrEqualTo=limit,
                severity="warning",
            )
        )
        notes.append(
            Inference(
                col.name,
                f"{logical}, with {', '.join(map(repr, tokens))} as missing values",
                f"{numeric['numeric_share']:.1%} of its values are numbers; the other tokens ({share:.2g}% of rows) look like sentinels: counted as missing (warning above {limit:g}%)",
            )
        )
    prop.logicalType = logical
    if col.null_count == 0 and rows > 0:
        prop.required = True
        notes.append(Inference(col.name, "required", f"no nulls in {rows:,} rows"))
    key = _key_like(col, rows)
    if key:
        prop.unique = True
        notes.append(Inference(col.name, "unique", f"all {rows:,} values distinct and it looks like a key"))
    if col.protected:
        prop.classification = "restricted"
        notes.append(
            Inference(
                col.name,
                "classification restricted",
                f"{col.protected}: its values are never stored or printed in clear",
            )
        )
    if numeric is not None:
        low, high = numeric["min"], numeric["max"]
    else:
        low, high = col.min, col.max
    if key and isinstance(low, int | float) and low >= 0:
        prop.logicalTypeOptions = {"minimum": 0}
        notes.append(
            Inference(col.name, "minimum 0, no maximum", "a key: the next batch brings new, larger ids")
        )
    elif (
        logical in ("integer", "number")
        and isinstance(low, int | float)
        and isinstance(high, int | float)
        and not col.protected
    ):
        lo, hi, why = plausible_range(float(low), float(high), integer=logical == "integer")
        prop.logicalTypeOptions = {"minimum": lo, "maximum": hi}
        notes.append(Inference(col.name, f"range {lo:g} to {hi:g}", why))
    values = col.valid_values
    if logical == "string" and values and not col.protected:
        verdict = _clean_set(col, rows)
        if verdict is None:
            quality.append(
                DataQuality(
                    name=f"{col.name}_valid_values",
                    metric="invalidValues",
                    arguments={"validValues": list(values)},
                    mustBe=0,
                    severity="error",
                )
            )
            notes.append(
                Inference(
                    col.name,
                    f"{len(values)} valid values",
                    "low cardinality and every value clean and frequent",
                )
            )
        else:
            notes.append(Inference(col.name, "no value set", verdict))
    if quality:
        prop.quality = quality
    return prop


def plausible_range(low: float, high: float, *, integer: bool) -> tuple[float, float, str]:
    """Bounds wide enough for the next batch: widened by half the span, rounded outwards to a step of the
    span's magnitude; 0 stays the floor of non-negative data; shares in [0, 1] stay [0, 1]."""
    observed = f"observed {low:g} to {high:g}"
    if low >= 0 and high <= 1 and not integer:
        return 0.0, 1.0, f"{observed}: a share, kept within [0, 1]"
    span = high - low or max(abs(high), 1.0)
    step = 10 ** math.floor(math.log10(span)) if span > 0 else 1.0
    lo = math.floor((low - span / 2) / step) * step
    hi = math.ceil((high + span / 2) / step) * step
    if low >= 0:
        lo = max(lo, 0.0)
    if integer:
        lo, hi = float(math.floor(lo)), float(math.ceil(hi))
    return (
        _tidy(lo),
        _tidy(hi),
        f"{observed}; widened by half the span and rounded to {step:g}s, so the next batch's plausible values pass",
    )


def _tidy(value: float) -> Any:
    return int(value) if float(value).is_integer() else round(value, 12)


def _key_like(col: ColumnProfile, rows: int) -> bool:
    if rows < 2 or col.null_count or col.distinct != rows:
        return False
    if col.logical_type == "integer":
        consecutive = isinstance(col.min, int) and isinstance(col.max, int) and col.max - col.min + 1 == rows
        return consecutive or bool(_KEY_NAME.search(col.name))
    return col.logical_type == "string" and bool(_KEY_NAME.search(col.name))


def _clean_set(col: ColumnProfile, rows: int) -> str | None:
    """None when the values make a trustworthy set, else why not."""
    values = [str(v) for v in col.valid_values or []]
    padded = [v for v in values if v != v.strip()]
    if padded:
        return f"values with spaces around them ({padded[0]!r}): clean them first"
    lowered = [v.lower() for v in values]
    if len(set(lowered)) < len(lowered):
        return "values differ only in case: clean them first"
    placeholders = [v for v in values if v.strip().lower() in _PLACEHOLDERS]
    if placeholders:
        return f"{placeholders[0]!r} looks like a placeholder for a missing value"
    counts = dict((str(v), n) for v, n in col.top_values)
    rare = [v for v in values if counts.get(v, 0) < max(2, 0.005 * rows)]
    if rare:
        return f"{rare[0]!r} is rare ({counts.get(rare[0], 0)} rows): a typo, or a value the next batch may not have"
    return None


def _numeric_text_columns(source: Source, prof: DatasetProfile) -> dict[str, dict[str, Any]]:
    """Text columns that are numbers apart from a few sentinel tokens."""
    texts = [c.name for c in prof.columns if c.logical_type == "string" and not c.protected]
    if not texts:
        return {}
    lf = source.lazy()
    out: dict[str, dict[str, Any]] = {}
    queries = []
    for c in texts:
        raw = pl.col(c).str.strip_chars()
        num = raw.cast(pl.Float64, strict=False)
        queries.append(
            lf.select(
                raw.is_not_null().sum().alias("present"),
                num.is_not_null().sum().alias("numeric"),
                num.min().alias("min"),
                num.max().alias("max"),
                (num.is_not_null() & (num != num.round(0))).sum().alias("fractional"),
                raw.filter(num.is_null() & raw.is_not_null())
                .unique()
                .head(SENTINEL_MAX + 1)
                .implode()
                .alias("tokens"),
                (num.is_null() & raw.is_not_null()).sum().alias("token_rows"),
            )
        )
    for c, frame in zip(texts, source.collect(queries, streaming=False), strict=True):
        r = frame.row(0, named=True)
        present, numeric = int(r["present"]), int(r["numeric"])
        tokens = sorted(str(t) for t in r["tokens"] or [])
        if (
            present
            and numeric / present >= NUMERIC_SHARE
            and numeric < present
            and len(tokens) <= SENTINEL_MAX
        ):
            logical = "number" if r["fractional"] else "integer"
            low, high = r["min"], r["max"]
            if logical == "integer":
                low, high = int(low), int(high)
            out[c] = {
                "logical": logical,
                "tokens": tokens,
                "token_rows": int(r["token_rows"]),
                "numeric_share": numeric / present,
                "min": low,
                "max": high,
            }
    return out


def with_comments(text: str, notes: tuple[Inference, ...]) -> str:
    """The YAML with each property's inferences as comments above its ``- name:`` line."""
    by_column: dict[str, list[Inference]] = {}
    for note in notes:
        by_column.setdefault(note.column, []).append(note)
    header = (
        f"# Drafted by `triops contract init` (ODCS {WRITTEN_API_VERSION}). Review before use: it describes\n"
        "# what the next batch may plausibly hold, as inferred below.\n"
    )
    out: list[str] = []
    in_properties = False
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("properties:"):
            in_properties = True
        match = re.match(r"^(\s*)- name: (.+)$", line)
        if in_properties and match:
            indent, raw = match.groups()
            name = yaml.safe_load(raw)
            for note in by_column.get(str(name), []):
                out.append(f"{indent}# {note.what}: {note.why}")
        out.append(line)
    return header + "\n".join(out) + "\n"
