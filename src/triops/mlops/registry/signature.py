"""Model input signatures: the columns and types a model was trained on, and the check at predict time.

A signature is inferred from the training frame (pandas or polars) at registration and stored with the
model version as JSON. ``Signature.check`` refuses a frame whose columns do not fit, naming every missing,
extra and mistyped column at once. Integers are accepted where floating point was trained (a safe
widening); everything else must match its kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triops.errors import InvalidInputError

KINDS = ("integer", "double", "boolean", "string", "datetime")
_WIDENINGS = {("double", "integer")}


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Signature:
    columns: tuple[ColumnSpec, ...]

    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def all_numeric(self) -> bool:
        return all(c.kind in ("integer", "double", "boolean") for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": [{"name": c.name, "type": c.kind} for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        try:
            return cls(tuple(ColumnSpec(str(i["name"]), str(i["type"])) for i in data["inputs"]))
        except (KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"malformed signature {data!r:.200}", hint='expected {"inputs": [{"name": .., "type": ..}]}'
            ) from exc

    def problems(self, frame: Any) -> dict[str, list[str]]:
        """Missing, extra and mistyped columns of ``frame`` against this signature (empty lists if fine)."""
        present = column_kinds(frame)
        expected = {c.name: c.kind for c in self.columns}
        missing = [n for n in expected if n not in present]
        extra = [n for n in present if n not in expected]
        mistyped = [
            f"{n} (expected {kind}, got {present[n]})"
            for n, kind in expected.items()
            if n in present and present[n] != kind and (kind, present[n]) not in _WIDENINGS
        ]
        return {"missing": missing, "extra": extra, "mistyped": mistyped}

    def check(self, frame: Any) -> None:
        """Raise ``InvalidInputError`` naming every missing, extra and mistyped column."""
        found = self.problems(frame)
        if not any(found.values()):
            return
        parts = [f"{what}: {', '.join(cols)}" for what, cols in found.items() if cols]
        raise InvalidInputError(
            "input does not match the model signature — " + "; ".join(parts),
            hint="expected columns: " + ", ".join(f"{c.name}:{c.kind}" for c in self.columns),
            detail=found,
        )


def infer_signature(frame: Any) -> Signature:
    """The signature of a training frame (pandas or polars DataFrame)."""
    return Signature(tuple(ColumnSpec(name, kind) for name, kind in column_kinds(frame).items()))


def column_kinds(frame: Any) -> dict[str, str]:
    """Column name → kind for a pandas or polars DataFrame."""
    module = type(frame).__module__.split(".")[0]
    if module == "polars":
        return {str(name): _polars_kind(dtype) for name, dtype in frame.schema.items()}
    if module == "pandas" and hasattr(frame, "dtypes"):
        return {str(name): _pandas_kind(dtype) for name, dtype in frame.dtypes.items()}
    raise InvalidInputError(
        f"expected a pandas or polars DataFrame, got {type(frame).__name__}",
        hint="wrap arrays in a DataFrame with named columns",
    )


def to_pandas(frame: Any) -> Any:
    """A pandas DataFrame for scikit-learn, converting polars once at the edge."""
    module = type(frame).__module__.split(".")[0]
    if module == "polars":
        return frame.to_pandas()
    if module == "pandas" and hasattr(frame, "dtypes"):
        return frame
    raise InvalidInputError(
        f"expected a pandas or polars DataFrame, got {type(frame).__name__}",
        hint="wrap arrays in a DataFrame with named columns",
    )


def _polars_kind(dtype: Any) -> str:
    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or dtype.is_decimal():
        return "double"
    if dtype.is_temporal():
        return "datetime"
    name = str(dtype).lower()
    if name.startswith("bool"):
        return "boolean"
    return "string"


def _pandas_kind(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    if kind in "iu":
        return "integer"
    if kind in "fc":
        return "double"
    if kind == "b":
        return "boolean"
    if kind in "mM":
        return "datetime"
    return "string"
