"""Settings read once from TRIOPS_* environment variables and an optional ``triops.toml``.

Nothing here runs at import: call ``Settings.load()`` and pass the object down.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from triops.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIOPS_", extra="ignore")

    home: Path = Field(default=Path(".triops"), description="where the embedded store and artifacts live")
    store_url: str | None = Field(default=None, description="SQLAlchemy URL or http(s) server URL")
    artifact_root: str | None = Field(default=None, description="local path or fsspec URL for artifacts")
    token: str | None = Field(default=None, description="bearer token for a remote triops server")
    flush_every: int = Field(default=5000, ge=1, description="flush the metric buffer after this many")
    flush_interval_s: float = Field(default=0.5, gt=0, le=60, description="flush at least this often")
    run_heartbeat_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="how often a running pipeline or tracked run records that its process is alive",
    )
    run_lost_after_s: float = Field(
        default=120.0, gt=0, description="a RUNNING run without a heartbeat this long is marked LOST"
    )
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="NORMAL: a commit survives a crash of the process, not of the OS or the power; "
        "FULL: it survives those too, at the cost of an fsync per commit",
    )
    max_request_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, description="JSON request bodies")
    max_artifact_bytes: int = Field(
        default=10 * 1024**3, ge=1, description="one artifact upload (streamed to disk, never held in memory)"
    )
    max_simulation_work: int = Field(
        default=11_000_000,
        ge=1,
        description="runs × projects × weeks one simulation request to the server may ask for (a "
        "sensitivity request a tenth of it: it simulates every assumed effect twice); local runs are unbounded",
    )
    openlineage_url: str | None = None
    openlineage_file: Path | None = None
    price_catalog: Path | None = None
    currency: str = "EUR"
    budget_webhook: str | None = None
    finops_required_tags: list[str] = Field(
        default_factory=list,
        description="tags every run must carry before it starts ([finops] required_tags in triops.toml)",
    )
    finops_shared: list[dict[str, Any]] = Field(
        default_factory=list,
        description="shared or idle costs to allocate ([[finops.shared]] label, amount, currency, period, by)",
    )
    audit_key_path: Path | None = Field(
        default=None, description="the audit signing key (default: ~/.config/triops/keys, outside home)"
    )
    audit_witness_dir: Path | None = Field(
        default=None, description="where signed audit heads are appended (default: ~/.local/state/triops)"
    )
    audit_checkpoint_every: int = Field(default=1000, ge=1, description="sign a checkpoint every N events")
    user: str | None = Field(
        default=None,
        description="a display name only: on a local store the principal is always the OS user "
        "(docs/security.md); through a server it is the token's user",
    )
    data_roots: list[Path] = Field(
        default_factory=list,
        description="server: directories whose files clients may register as datasets by path (JSON list)",
    )
    server_pipeline_modules: list[str] = Field(
        default_factory=list,
        description="server: module prefixes whose pipelines clients may run or resume there (JSON list)",
    )

    trusted_model_types: list[str] = Field(
        default_factory=list,
        description="exact type names (as skops reports them) a model file may hold besides triops' "
        "allow-list; no prefixes (JSON list; docs/security.md)",
    )

    serving_log_sample_rate: float = Field(
        default=1.0, ge=0, le=1, description="serving: share of predicted rows whose inputs are logged"
    )
    serving_restricted: Literal["hash", "drop"] = Field(
        default="hash", description="serving: restricted input columns are logged hashed, or not at all"
    )
    serving_restricted_columns: list[str] = Field(
        default_factory=list,
        description="serving: input columns always logged as restricted, besides those the training "
        "dataset's contract classifies (e.g. features derived from restricted data; JSON list)",
    )
    serving_poll_interval_s: float = Field(
        default=0.5, gt=0, le=60, description="serving: how often a server checks whether an alias moved"
    )
    serving_meter_interval_s: float = Field(
        default=10.0, gt=0, le=3600, description="serving: how often predictions are metered and priced"
    )

    monitor_poll_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="monitoring: how often a server looks for monitors that are due",
    )
    monitor_lease_s: float = Field(
        default=300.0,
        ge=2,
        le=86400,
        description="monitoring: how long a monitor run's lease lasts before it is renewed (another process "
        "takes a lease that was not renewed: its holder died)",
    )

    @field_validator("trusted_model_types")
    @classmethod
    def _exact_types(cls, value: list[str]) -> list[str]:
        from triops.mlops.registry.safe_load import check_trusted_names

        try:
            return list(check_trusted_names(value))
        except ConfigError as exc:  # pydantic reports ValueErrors with the field's location
            raise ValueError(f"{exc.message} ({exc.hint})") from None

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Settings:
        """Environment first, then ``triops.toml`` ([triops] table) for anything the environment leaves unset."""
        file_values: dict[str, Any] = {}
        path = config_file or Path(os.environ.get("TRIOPS_CONFIG", "triops.toml"))
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}", hint="fix the TOML syntax") from exc
            section = data.get("triops", {})
            if not isinstance(section, dict):
                raise ConfigError(f"{path}: [triops] must be a table", hint="write settings under [triops]")
            file_values = {k: v for k, v in section.items() if f"TRIOPS_{k.upper()}" not in os.environ}
            file_values.update(_finops_section(data.get("finops", {}), path))
        try:
            return cls(**{**file_values, **overrides})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(
                f"invalid settings: {problems}", hint="check TRIOPS_* variables and triops.toml"
            ) from exc

    @property
    def acting_user(self) -> str:
        """The principal of a local store: the OS user running this process, never ``TRIOPS_USER``."""
        return os_user()

    @property
    def display_name(self) -> str | None:
        """``TRIOPS_USER`` when it differs from the OS user: shown and audited beside it, never checked."""
        return self.user if self.user and self.user != self.acting_user else None


def os_user() -> str:
    """The name of the process's effective user, from the user database (not from ``$USER``, which anyone
    can set: on a local store this name is the principal)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):  # Windows, or a uid without a passwd entry (some containers)
        import getpass

        return getpass.getuser() if os.name == "nt" else f"uid-{os.geteuid()}"


def _finops_section(section: Any, path: Path) -> dict[str, Any]:
    """``[finops]`` of triops.toml: ``required_tags`` and ``[[finops.shared]]`` (environment wins)."""
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [finops] must be a table", hint="write FinOps settings under [finops]")
    unknown = sorted(set(section) - {"required_tags", "shared"})
    if unknown:
        raise ConfigError(
            f"{path}: [finops] has unknown key {unknown[0]!r}", hint="keys: required_tags, shared"
        )
    out: dict[str, Any] = {}
    for key in ("required_tags", "shared"):
        if key in section and f"TRIOPS_FINOPS_{key.upper()}" not in os.environ:
            out[f"finops_{key}"] = section[key]
    return out
