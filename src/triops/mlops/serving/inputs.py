"""Request bodies → typed input columns, checked against the version's signature (pure: no I/O).

Three shapes are accepted: one row (``{"inputs": {"age": 31, ...}}``), rows (``{"inputs": [{...}, ...]}``)
and columns (``{"columns": {"age": [31, 40], ...}}``); Parquet bodies arrive as a pyarrow table. Every
missing, extra and mistyped column is named at once in one ``InvalidInputError`` (422 over HTTP), with the
same wording as ``Signature.check``. A JSON ``null`` is accepted only in a ``double`` column (as NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from triops.errors import InvalidInputError
from triops.mlops.registry.signature import Signature

Columns = dict[str, npt.NDArray[Any]]
MAX_ROWS = 1_000_000

# Python types each signature kind accepts from JSON (bool is not an integer here, though Python says so).
_ACCEPTS: dict[str, frozenset[type]] = {
    "integer": frozenset({int}),
    "double": frozenset({int, float, type(None)}),
    "boolean": frozenset({bool}),
    "string": frozenset({str}),
    "datetime": frozenset({str}),
}
_DTYPES: dict[str, Any] = {
    "integer": np.int64,
    "double": np.float64,
    "boolean": np.bool_,
    "string": object,
    "datetime": "datetime64[ns]",
}
_TYPE_NAMES = {int: "integer", float: "double", bool: "boolean", str: "string", type(None): "null"}


def _fail(sig: Signature, missing: list[str], extra: list[str], mistyped: list[str]) -> InvalidInputError:
    found = {"missing": missing, "extra": extra, "mistyped": mistyped}
    parts = [f"{what}: {', '.join(cols)}" for what, cols in found.items() if cols]
    return InvalidInputError(
        "input does not match the model signature — " + "; ".join(parts),
        hint="expected columns: " + ", ".join(f"{c.name}:{c.kind}" for c in sig.columns),
        detail=found,
    )


def _check_names(sig: Signature, present: Sequence[str]) -> None:
    expected = sig.names()
    missing = [n for n in expected if n not in present]
    extra = [str(n) for n in present if n not in set(expected)]
    if missing or extra:
        raise _fail(sig, missing, extra, [])


def _typed(sig: Signature, values: Mapping[str, Sequence[Any]]) -> Columns:
    out: Columns = {}
    mistyped: list[str] = []
    for col in sig.columns:
        vals = values[col.name]
        kinds = set(map(type, vals))
        bad = kinds - _ACCEPTS[col.kind]
        if bad:
            got = ", ".join(sorted(_TYPE_NAMES.get(t, t.__name__) for t in bad))
            mistyped.append(f"{col.name} (expected {col.kind}, got {got})")
            continue
        if col.kind == "double" and type(None) in kinds:
            vals = [np.nan if v is None else v for v in vals]
        try:
            out[col.name] = np.asarray(vals, dtype=_DTYPES[col.kind])
        except (ValueError, OverflowError, TypeError) as exc:
            mistyped.append(f"{col.name} (expected {col.kind}: {exc})"[:200])
    if mistyped:
        raise _fail(sig, [], [], mistyped)
    return out


def _rows(n: int) -> None:
    if n == 0:
        raise InvalidInputError("inputs: the request has no rows", hint="send at least one row")
    if n > MAX_ROWS:
        raise InvalidInputError(f"inputs: {n} rows is over the limit of {MAX_ROWS} per request")


def from_json(body: Any, sig: Signature) -> tuple[Columns, int, Any]:
    """Columns, row count and the inputs as the log keeps them, from a parsed JSON body."""
    if not isinstance(body, dict):
        raise InvalidInputError(
            "body: expected a JSON object with 'inputs' (a row or a list of rows) or 'columns'",
            hint='e.g. {"inputs": {"age": 31}} or {"columns": {"age": [31, 40]}}',
        )
    extra_keys = [k for k in body if k not in ("inputs", "columns")]
    if extra_keys or len(body) != 1:
        raise InvalidInputError(
            f"body: expected exactly one of 'inputs' or 'columns', got {', '.join(map(repr, body)) or 'none'}",
            hint='e.g. {"inputs": {"age": 31}} or {"columns": {"age": [31, 40]}}',
        )
    if "columns" in body:
        cols = body["columns"]
        if not isinstance(cols, dict) or not all(isinstance(v, list) for v in cols.values()):
            raise InvalidInputError("columns: expected an object of column name → list of values")
        _check_names(sig, list(cols))
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise InvalidInputError(f"columns: the lists have different lengths ({sorted(lengths)})")
        n = lengths.pop() if lengths else 0
        _rows(n)
        return _typed(sig, cols), n, cols
    inputs = body["inputs"]
    rows = [inputs] if isinstance(inputs, dict) else inputs
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInputError("inputs: expected an object (one row) or a list of objects (rows)")
    _rows(len(rows))
    names = sig.names()
    first = rows[0]
    if len(first) != len(names) or not all(n in first for n in names):
        _check_names(sig, list(first))
    try:
        values = {n: [r[n] for r in rows] for n in names}
    except KeyError as exc:
        raise _fail(sig, [str(exc.args[0])], [], []) from None
    if any(len(r) != len(names) for r in rows):
        extra = sorted({k for r in rows for k in r if k not in set(names)})
        raise _fail(sig, [], extra, [])
    return _typed(sig, values), len(rows), rows


def from_arrow(table: Any, sig: Signature) -> tuple[Columns, int, Any]:
    """Columns, row count and loggable inputs from a pyarrow table (a Parquet body)."""
    from triops.mlops.registry.signature import column_kinds

    _check_names(sig, list(table.column_names))
    n = int(table.num_rows)
    _rows(n)
    frame = table.to_pandas()
    kinds = column_kinds(frame)
    mistyped = [
        f"{c.name} (expected {c.kind}, got {kinds[c.name]})"
        for c in sig.columns
        if kinds[c.name] != c.kind and not (c.kind == "double" and kinds[c.name] == "integer")
    ]
    if mistyped:
        raise _fail(sig, [], [], mistyped)
    cols: Columns = {c.name: frame[c.name].to_numpy(dtype=_DTYPES[c.kind]) for c in sig.columns}
    return cols, n, {name: values.tolist() for name, values in cols.items()}
