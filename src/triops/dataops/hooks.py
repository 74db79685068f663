"""Pipeline hooks of the DataOps pillar: the contract gate before each step (here), and OpenLineage events
for each run and step (``lineage_hook``, re-exported).

They follow the runner's hook protocol (``before_run``, ``before_step``, ``after_step``, ``after_run``,
``on_failure``) by duck typing, reading only the context fields they need, so the pillar never imports the
runner. The composition root registers them with what they cannot know: how to load a step input from its
content address, and where lineage goes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from triops.dataops.contracts import Contract, load_contract
from triops.dataops.gate import GateResult, gate_inputs
from triops.dataops.hook_context import StepCtx
from triops.dataops.lineage_hook import OpenLineageHook
from triops.dataops.privacy import Privacy
from triops.domain.clock import Clock, SystemClock

# Contracts parsed by any gate of this process, by (path, mtime, size): each run builds its own hook, and
# parsing and validating a contract costs more than a thousand trivial steps. The gate only reads them.
_PARSED: dict[tuple[str, int, int], Contract] = {}
_PARSED_MAX = 64

Loader = Callable[[str, str], Any]  # (sha256, media_type) -> data
Reporter = Callable[[str, str, GateResult], None]  # (run_id, step, result)


class ContractGateHook:
    """Checks each step input that has a contract before the step runs.

    An error-severity failure raises ``ContractViolationError`` (the runner stops the run with that message
    and the report in ``detail``); ``report`` is called with every result first, so warnings and the report
    can be recorded (on the run, in the audit log) whether or not the run goes on."""

    def __init__(
        self,
        load: Loader,
        *,
        base_dir: Path | None = None,
        report: Reporter | None = None,
        clock: Clock | None = None,
        privacy: Privacy | None = None,
    ) -> None:
        self._load = load
        self._privacy = privacy
        self._base = base_dir
        self._report = report
        self._clock = clock or SystemClock()
        self._contracts: dict[str, Contract] = {}

    def _contract(self, path: str) -> Contract:
        full = str(self._base / path) if self._base is not None and not Path(path).is_absolute() else path
        if full not in self._contracts:
            self._contracts[full] = _parsed(full)
        return self._contracts[full]

    def before_run(self, ctx: Any) -> None:
        return None

    def before_step(self, ctx: StepCtx) -> None:
        if not ctx.contracts:
            return
        links = {link.name: link for link in ctx.inputs}
        inputs = {
            name: self._load(links[name].sha256, links[name].media_type)
            for name in ctx.contracts
            if name in links
        }
        contracts = {name: self._contract(path) for name, path in ctx.contracts.items()}
        result = replace(
            gate_inputs(contracts, inputs, clock=self._clock, privacy=self._privacy),
            digests={name: links[name].sha256 for name in inputs},
        )
        if self._report is not None:
            self._report(ctx.run_id, ctx.step, result)
        result.raise_for_errors()

    def after_step(self, ctx: Any, result: Any) -> None:
        return None

    def after_run(self, ctx: Any, outcome: Any) -> None:
        return None

    def on_failure(self, ctx: Any, result: Any) -> None:
        return None


def _parsed(path: str) -> Contract:
    try:
        stat = os.stat(path)
    except OSError:
        return load_contract(path)  # says what is wrong with the path
    key = (path, stat.st_mtime_ns, stat.st_size)
    contract = _PARSED.get(key)
    if contract is None:
        contract = load_contract(path)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = contract
    return contract


__all__ = ["ContractGateHook", "OpenLineageHook"]
