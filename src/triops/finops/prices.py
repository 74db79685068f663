"""The price book: a versioned TOML file of unit prices per environment and resource, each with an
effective date range, a source and a source date. On-premises prices are derived from amortised hardware
(purchase price over its lifetime, plus power, divided by utilisation).

Resources (and their pricing units):

- ``cpu_core_hour`` (Core-Hours), ``memory_gib_hour`` (GiB-Hours), ``gpu_hour:<MODEL>`` (GPU-Hours),
- ``storage_gib_month`` (GiB-Months), ``network_gib`` (GiB: the bytes a step read and wrote; the key keeps
  its historical name, FOCUS exports it as Storage / Block Storage, not Networking).

Units follow the FOCUS 1.2 Unit Format (``<singular-unit>-<plural-time-units>``, capitalised).

Date ranges are half-open: ``effective_from`` ≤ day < ``effective_to`` (``effective_to`` absent = open).
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from triops.errors import ConfigError, InvalidInputError

BASE_RESOURCES: dict[str, str] = {
    "cpu_core_hour": "Core-Hours",
    "memory_gib_hour": "GiB-Hours",
    "storage_gib_month": "GiB-Months",
    "network_gib": "GiB",
}
GPU_PREFIX = "gpu_hour:"
HOURS_PER_YEAR = Decimal(8760)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
DEFAULT_CATALOG_NAME = "prices.toml"


def resource_unit(resource: str) -> str:
    if resource in BASE_RESOURCES:
        return BASE_RESOURCES[resource]
    if resource.startswith(GPU_PREFIX) and len(resource) > len(GPU_PREFIX):
        return "GPU-Hours"
    raise InvalidInputError(
        f"unknown resource {resource!r}",
        hint=f"resources are {', '.join(BASE_RESOURCES)} or {GPU_PREFIX}<MODEL>",
    )


def _check_resource(value: str) -> str:
    try:
        resource_unit(value)
    except InvalidInputError as exc:
        raise ValueError(str(exc)) from None
    return value


class _EnvironmentModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["cloud", "on-prem"]
    currency: str
    provider: str = "self"
    region: str | None = None
    description: str | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not _CURRENCY.match(value):
            raise ValueError(f"{value!r} is not an ISO 4217 code such as 'USD' or 'EUR'")
        return value


class _PriceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    environment: str
    resource: str
    unit_price: Decimal = Field(ge=0)
    effective_from: date
    effective_to: date | None = None
    sku: str | None = None
    source: str
    source_date: date | None = None
    note: str | None = None

    _resource = field_validator("resource")(classmethod(lambda cls, v: _check_resource(v)))


class _OnPremModel(BaseModel):
    """Amortised hardware: what one machine costs an hour, spread over the units of one resource."""

    model_config = ConfigDict(extra="forbid")
    environment: str
    resource: str
    purchase_price: Decimal = Field(gt=0)
    lifetime_years: Decimal = Field(gt=0)
    units: Decimal = Field(gt=0, description="cores, GiB or GPUs of this resource per machine")
    share: Decimal = Field(default=Decimal(1), gt=0, le=1, description="share of the machine's cost")
    power_watts: Decimal = Field(default=Decimal(0), ge=0)
    power_price_kwh: Decimal = Field(default=Decimal(0), ge=0)
    utilisation: Decimal = Field(gt=0, le=1)
    effective_from: date
    effective_to: date | None = None
    source: str
    source_date: date | None = None

    _resource = field_validator("resource")(classmethod(lambda cls, v: _check_resource(v)))


class _CatalogModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    base_currency: str | None = None
    environments: dict[str, _EnvironmentModel]
    prices: list[_PriceModel] = Field(default_factory=list)
    onprem: list[_OnPremModel] = Field(default_factory=list)
    rates: dict[str, Decimal] = Field(default_factory=dict)
    rates_date: date | None = None
    rates_source: str | None = None


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    kind: str
    currency: str
    provider: str
    region: str | None


@dataclass(frozen=True, slots=True)
class PriceRow:
    environment: str
    resource: str
    unit: str
    unit_price: Decimal
    currency: str
    effective_from: date
    effective_to: date | None
    source: str
    source_date: date | None
    sku: str | None = None
    derivation: str | None = None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    @property
    def range_text(self) -> str:
        end = self.effective_to.isoformat() if self.effective_to else "open"
        return f"{self.effective_from.isoformat()}..{end}"


@dataclass(frozen=True, slots=True)
class PriceBook:
    version: str
    path: str
    environments: dict[str, Environment]
    rows: tuple[PriceRow, ...]
    base_currency: str | None = None
    rates: dict[str, Decimal] = field(default_factory=dict)
    rates_date: date | None = None
    rates_source: str | None = None

    @property
    def rates_note(self) -> str | None:
        """Where the exchange rates come from, e.g. ``rates of 2026-11-02 (ECB reference rates)``."""
        if not self.rates:
            return None
        return f"rates of {self.rates_date} ({self.rates_source}), base {self.base_currency}"

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            raise InvalidInputError(
                f"environment {name!r} is not in the price catalog {self.path}",
                hint=f"environments in the catalog: {', '.join(sorted(self.environments)) or 'none'}",
            ) from None

    def rows_for(self, environment: str, resource: str) -> list[PriceRow]:
        return sorted(
            (r for r in self.rows if r.environment == environment and r.resource == resource),
            key=lambda r: r.effective_from,
        )

    def lookup(self, environment: str, resource: str, day: date) -> PriceRow:
        """The price of ``resource`` in ``environment`` on ``day``; names resource and catalog if none."""
        self.environment(environment)
        for row in self.rows_for(environment, resource):
            if row.covers(day):
                return row
        raise missing_price(self, environment, resource, day)


def missing_price(book: PriceBook, environment: str, resource: str, day: date | None) -> InvalidInputError:
    when = f" on {day.isoformat()}" if day else ""
    ranges = ", ".join(r.range_text for r in book.rows_for(environment, resource)) or "none"
    return InvalidInputError(
        f"no price for resource {resource!r} in environment {environment!r}{when} in catalog {book.path}",
        hint=f"add a [[prices]] row for {resource!r} covering that date (ranges present: {ranges})",
    )


def _onprem_price(row: _OnPremModel) -> tuple[Decimal, str]:
    capital = row.purchase_price / (row.lifetime_years * HOURS_PER_YEAR)
    power = row.power_watts / Decimal(1000) * row.power_price_kwh
    hourly = (capital + power) * row.share / row.utilisation / row.units
    text = (
        f"({row.purchase_price} / ({row.lifetime_years} y * 8760 h) + {row.power_watts} W * "
        f"{row.power_price_kwh}/kWh) * share {row.share} / utilisation {row.utilisation} / {row.units} units"
    )
    if row.resource in ("storage_gib_month",):
        hourly *= Decimal(730)
    return hourly.quantize(Decimal("0.000000001")), text


def _check_overlaps(rows: Iterable[PriceRow], path: str) -> None:
    groups: dict[tuple[str, str], list[PriceRow]] = {}
    for row in rows:
        if row.effective_to is not None and row.effective_to <= row.effective_from:
            raise ConfigError(
                f"{path}: price for {row.environment}/{row.resource} has an empty range {row.range_text}",
                hint="effective_to is exclusive and must be after effective_from",
            )
        groups.setdefault((row.environment, row.resource), []).append(row)
    for (env, resource), group in groups.items():
        group.sort(key=lambda r: r.effective_from)
        for before, after in itertools.pairwise(group):
            if before.effective_to is None or after.effective_from < before.effective_to:
                raise ConfigError(
                    f"{path}: prices for {env}/{resource} overlap: "
                    f"{before.range_text} and {after.range_text}",
                    hint="end the earlier range (effective_to, exclusive) on or before the later one starts",
                )


def parse_price_book(data: dict[str, Any], path: str) -> PriceBook:
    """Validate a parsed TOML document; every problem names the catalog file."""
    try:
        model = _CatalogModel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise ConfigError(
            f"invalid price catalog {path}: {problems}", hint="see docs/finops.md#price-catalog"
        ) from exc
    environments = {
        name: Environment(name, env.kind, env.currency, env.provider, env.region)
        for name, env in model.environments.items()
    }
    rows: list[PriceRow] = []
    for price in model.prices:
        env = _known_env(environments, price.environment, path)
        rows.append(
            PriceRow(
                price.environment,
                price.resource,
                resource_unit(price.resource),
                price.unit_price,
                env.currency,
                price.effective_from,
                price.effective_to,
                price.source,
                price.source_date,
                price.sku,
                price.note,
            )
        )
    for hw in model.onprem:
        env = _known_env(environments, hw.environment, path)
        unit_price, derivation = _onprem_price(hw)
        rows.append(
            PriceRow(
                hw.environment,
                hw.resource,
                resource_unit(hw.resource),
                unit_price,
                env.currency,
                hw.effective_from,
                hw.effective_to,
                hw.source,
                hw.source_date,
                None,
                derivation,
            )
        )
    _check_overlaps(rows, path)
    for currency in model.rates:
        if not _CURRENCY.match(currency):
            raise ConfigError(f"{path}: rate for {currency!r} is not keyed by an ISO 4217 code")
    if model.rates and not (model.base_currency and model.rates_date and model.rates_source):
        raise ConfigError(
            f"{path}: [rates] needs base_currency, rates_date and rates_source",
            hint="an amount converted with an exchange rate says which rate, of which day, from where; "
            'e.g. base_currency = "EUR", rates_date = 2026-11-02, rates_source = "ECB reference rates"',
        )
    return PriceBook(
        model.version,
        path,
        environments,
        tuple(rows),
        model.base_currency,
        dict(model.rates),
        model.rates_date,
        model.rates_source,
    )


def _known_env(environments: dict[str, Environment], name: str, path: str) -> Environment:
    if name not in environments:
        raise ConfigError(
            f"{path}: price refers to environment {name!r}, which is not declared",
            hint=f"declare [environments.{name}] (declared: {', '.join(sorted(environments)) or 'none'})",
        )
    return environments[name]


def default_catalog_path() -> Path:
    return Path(str(resources.files("triops.finops") / "data" / DEFAULT_CATALOG_NAME))


def load_price_book(path: Path | str | None = None) -> PriceBook:
    """Read and validate a price catalog (the bundled default when ``path`` is None)."""
    file = Path(path) if path is not None else default_catalog_path()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read price catalog {file}: {exc.strerror}", hint="check the path") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"price catalog {file} is not valid TOML: {exc}", hint="fix the TOML syntax"
        ) from exc
    return parse_price_book(data, str(file))
