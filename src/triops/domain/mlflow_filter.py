"""MLflow's run-search syntax, parsed into triops' filter tree (``triops.domain.filters``).

MLflow writes ``metrics.rmse < 1 and params.model = 'rf' and tags.`mlflow.runName` = 'x'`` and
``attributes.status = 'FINISHED'``: the same shape as triops' language, with other names for some
attributes (``run_name``, ``run_id``, ``user_id``, ``created``). This module parses such a filter with the
triops parser, mapping those names onto triops attributes; the result is a tree the store compiles into
bound SQL, never a string. MLflow features triops has no column for (``datasets.*``, ``artifact_uri``,
``lifecycle_stage`` as a filter) are refused with an error naming them, never ignored.

Order-by keys (``metrics.rmse DESC``, ``attributes.start_time``) parse the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from triops.domain.filter_syntax import ATTRIBUTES, MAX_ORDER_KEYS, Field, Node, Token
from triops.domain.filters import OrderBy, _Parser
from triops.errors import FilterSyntaxError, InvalidInputError

# MLflow attribute name → triops attribute name
ATTRIBUTE_ALIASES = {
    "run_name": "name",
    "run_id": "id",
    "run_uuid": "id",
    "user_id": "user",
    "created": "start_time",
    "status": "status",
    "start_time": "start_time",
    "end_time": "end_time",
}
UNSUPPORTED_ATTRIBUTES = ("artifact_uri", "lifecycle_stage", "experiment_id")
UNSUPPORTED_ENTITIES = ("datasets", "dataset", "inputs")


class _MlflowParser(_Parser):
    def field(self) -> Field:
        tok = self.peek()
        if tok.kind == "word" and tok.text.lower() in UNSUPPORTED_ENTITIES:
            raise FilterSyntaxError(
                f"MLflow filter field {tok.text!r} is not supported by triops",
                column=tok.col,
                text=self.text,
                hint="filter on metrics.*, params.*, tags.* or attributes run_name, run_id, status, "
                "user_id, start_time, end_time",
            )
        return super().field()

    def attribute(self, name: str, tok: Token) -> Field:
        lowered = name.lower()
        if lowered in UNSUPPORTED_ATTRIBUTES:
            raise FilterSyntaxError(
                f"MLflow attribute {name!r} is not supported in triops filters",
                column=tok.col,
                text=self.text,
                hint="use run_view_type for deleted runs; filter on run_name, run_id, status, user_id, "
                "start_time or end_time",
            )
        mapped = ATTRIBUTE_ALIASES.get(lowered)
        if mapped is None and lowered in ATTRIBUTES:
            mapped = lowered
        if mapped is None:
            raise FilterSyntaxError(
                f"unknown MLflow attribute {name!r}",
                column=tok.col,
                text=self.text,
                hint=f"use metrics.KEY, params.KEY, tags.KEY or one of: {', '.join(sorted(ATTRIBUTE_ALIASES))}",
            )
        return Field("attribute", mapped)


EXPERIMENT_ATTRIBUTES = {"name": "name", "creation_time": "start_time", "last_update_time": "end_time"}


class _ExperimentParser(_Parser):
    """Experiment filters: ``name``, ``creation_time``, ``last_update_time`` (as start_time/end_time)."""

    def field(self) -> Field:
        found = super().field()
        if found.entity != "attribute":
            raise FilterSyntaxError(
                f"experiment filters on {found.entity}s ({found.key!r}) are not supported by triops",
                column=1,
                text=self.text,
                hint="filter experiments on name, creation_time or last_update_time",
            )
        return found

    def attribute(self, name: str, tok: Token) -> Field:
        mapped = EXPERIMENT_ATTRIBUTES.get(name.lower())
        if mapped is None:
            raise FilterSyntaxError(
                f"experiment filter field {name!r} is not supported by triops",
                column=tok.col,
                text=self.text,
                hint="filter experiments on name, creation_time or last_update_time",
            )
        return Field("attribute", mapped)


PROMPT_TAG = "mlflow.prompt.is_prompt"


class _RegistryParser(_Parser):
    """Registry filters: ``tags.KEY`` and the ``allowed`` attributes (``name``, and for versions ``run_id``
    and ``source_path``). MLflow's prompt marker ``mlflow.prompt.is_prompt``, which the client adds to every
    search, is evaluated by callers as ``"false"`` (no triops model is a prompt)."""

    allowed: tuple[str, ...] = ()

    def field(self) -> Field:
        found = super().field()
        if found.entity == "tag":
            return found
        if found.entity != "attribute":
            raise FilterSyntaxError(
                f"registry filters on {found.entity}s ({found.key!r}) are not supported by triops",
                column=1,
                text=self.text,
                hint="filter on " + ", ".join(self.allowed),
            )
        return found

    def attribute(self, name: str, tok: Token) -> Field:
        if name.lower() not in self.allowed:
            raise FilterSyntaxError(
                f"registry filter field {name!r} is not supported by triops",
                column=tok.col,
                text=self.text,
                hint="filter on " + ", ".join(self.allowed),
            )
        return Field("attribute", name.lower())


def parse_registry_filter(text: str, allowed: Sequence[str]) -> Node | None:
    """Parse a ``SearchRegisteredModels`` / ``SearchModelVersions`` filter over ``allowed`` attributes."""
    if not text or not text.strip():
        return None
    parser = _RegistryParser(text)
    parser.allowed = tuple(allowed)
    return parser.parse()


def parse_experiment_filter(text: str) -> Node | None:
    """Parse an MLflow ``SearchExperiments`` filter; empty means every experiment (None)."""
    if not text or not text.strip():
        return None
    return _ExperimentParser(text).parse()


def parse_mlflow_filter(text: str) -> Node | None:
    """Parse an MLflow ``filter_string``; empty means "all runs" (None)."""
    if not text or not text.strip():
        return None
    return _MlflowParser(text).parse()


def parse_mlflow_order_by(keys: Sequence[str]) -> list[OrderBy]:
    """MLflow ``order_by`` entries (``metrics.rmse DESC``) as triops orderings."""
    if len(keys) > MAX_ORDER_KEYS:
        raise InvalidInputError(
            f"order_by has {len(keys):,} keys; the limit is {MAX_ORDER_KEYS}", hint="order by fewer keys"
        )
    out: list[OrderBy] = []
    for key in keys:
        parser = _MlflowParser(key)
        if parser.peek().kind == "end":
            raise parser.fail("expected a field to order by")
        field = parser.field()
        descending = False
        if parser.is_word("desc") or parser.is_word("asc"):
            descending = parser.take().text.lower() == "desc"
        if parser.peek().kind != "end":
            raise parser.fail("expected 'ASC', 'DESC' or the end of the ordering")
        out.append(OrderBy(field, descending))
    return out


__all__ = [
    "ATTRIBUTE_ALIASES",
    "PROMPT_TAG",
    "parse_experiment_filter",
    "parse_mlflow_filter",
    "parse_mlflow_order_by",
    "parse_registry_filter",
]
