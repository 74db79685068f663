"""The report every benchmark prints, and the rule that makes a benchmark able to fail.

Each benchmark declares rows: what was measured, our figure, the peer's figure measured in the same run (same
N on both sides), the ratio, and the target. A row passes only when its target holds:

- ``limit``: an absolute target on our figure (``≤ limit``, or ``≥ limit`` when higher is better);
- ``min_ratio``: how many times better than the peer ours must be (``ratio = peer / ours`` when lower is
  better, ``ours / peer`` when higher is better; ``min_ratio=1/1.2`` reads "at most 1.2× the peer's time").

A row that names a peer (``peer_name``) but has no peer figure — the peer is not installed, failed or was
skipped — shows "not measured" and fails the run unless ``--allow-missing`` is given. A row whose own
figure is missing fails. ``Report.finish()`` prints the table (and ``--json PATH`` writes the rows) and exits
1 when any row failed, 0 otherwise; ``make bench`` runs every benchmark and fails if any did.

    report = Report.from_args("tracking", parse_args(__doc__))
    report.row("search, 100k runs", ours_ms, "ms", peer=mlflow_ms, peer_name="MLflow", limit=100)
    report.finish()
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
PASS, FAIL, INFO, MISSING, MISSING_ALLOWED = "PASS", "FAIL", "info", "NOT MEASURED", "not measured (allowed)"


def parse_args(
    description: str | None, argv: Sequence[str] | None = None, **extra: Any
) -> argparse.Namespace:
    """The options every benchmark takes: ``--quick``, ``--allow-missing``, ``--json PATH``. ``extra`` maps
    further flags (``"--skip-csv"``) to their help text (store_true options)."""
    parser = argparse.ArgumentParser(description=(description or "").split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes for a smoke run (targets still apply)"
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="a peer that could not be measured does not fail the run (it still shows 'not measured')",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON to PATH")
    for flag, text in extra.items():
        parser.add_argument(flag, action="store_true", help=text)
    return parser.parse_args(argv)


def measure_peer(fn: Callable[[], T | None]) -> tuple[T | None, str | None]:
    """Run a peer's measurement: (figure, None), or (None, why it could not be measured). A peer that is
    not installed, raises, or returns None is "not measured" — never a pass."""
    try:
        value = fn()
    except ImportError as exc:
        return None, f"not installed ({exc.name or exc})"
    except Exception as exc:  # any failure of a peer is reported, not fatal
        return None, f"failed: {type(exc).__name__}: {str(exc)[:80]}"
    if value is None:
        return None, "not installed"
    return value, None


@dataclass
class Row:
    what: str
    ours: float | None
    unit: str
    peer: float | None = None
    peer_name: str | None = None  # the peer this row compares with; None: no peer for this measure
    note: str | None = None  # why the peer was not measured, or what the figures mean
    higher_is_better: bool = False
    limit: float | None = None
    min_ratio: float | None = None
    target: str | None = None  # the target as text; made from limit/min_ratio when not given
    result: str = field(default="", init=False)

    @property
    def ratio(self) -> float | None:
        """How many times better ours is than the peer (> 1: ours is better)."""
        if self.ours is None or self.peer is None or self.ours <= 0 or self.peer <= 0:
            return None
        return self.ours / self.peer if self.higher_is_better else self.peer / self.ours

    def target_text(self) -> str:
        if self.target is not None:
            return self.target
        parts = []
        if self.limit is not None:
            parts.append(f"{'≥' if self.higher_is_better else '≤'} {_figure(self.limit)} {self.unit}")
        if self.min_ratio is not None:
            who = self.peer_name or "peer"
            if self.min_ratio >= 1:
                parts.append(f"≥ {self.min_ratio:g}× {who}")
            else:
                parts.append(
                    f"≤ {1 / self.min_ratio:.3g}× {who}'s {'rate' if self.higher_is_better else 'time'}"
                )
        return " and ".join(parts) or "-"

    def judge(self, allow_missing: bool) -> str:
        """PASS, FAIL, NOT MEASURED (a failure), 'not measured (allowed)', or info (no target)."""
        if self.ours is None or (isinstance(self.ours, float) and math.isnan(self.ours)):
            return FAIL
        if self.limit is not None:
            within = self.ours >= self.limit if self.higher_is_better else self.ours <= self.limit
            if not within:
                return FAIL
        if self.peer_name is not None and self.peer is None:
            return MISSING_ALLOWED if allow_missing else MISSING
        if self.min_ratio is not None:
            ratio = self.ratio
            if ratio is None or ratio < self.min_ratio:
                return FAIL
        if self.limit is None and self.min_ratio is None:
            return INFO
        return PASS


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0 or 0.01 <= abs(value) < 1e6:
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:.3g}"


class Report:
    """The rows of one benchmark run; ``finish()`` prints them and exits non-zero on any failure."""

    def __init__(
        self, title: str, *, quick: bool = False, allow_missing: bool = False, json_path: str | None = None
    ):
        self.title = title
        self.quick = quick
        self.allow_missing = allow_missing
        self.json_path = json_path
        self.rows: list[Row] = []
        self.notes: list[str] = []

    @classmethod
    def from_args(cls, title: str, args: argparse.Namespace) -> Report:
        return cls(title, quick=args.quick, allow_missing=args.allow_missing, json_path=args.json)

    def row(self, what: str, ours: float | None, unit: str, **fields: Any) -> Row:
        added = Row(what, ours, unit, **fields)
        added.result = added.judge(self.allow_missing)
        self.rows.append(added)
        return added

    def note(self, text: str) -> None:
        self.notes.append(text)

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.result in (FAIL, MISSING)]

    def exit_code(self) -> int:
        return 1 if self.failed or not self.rows else 0

    def render(self) -> None:
        from rich.console import Console
        from rich.table import Table

        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        title = f"{self.title}{' (--quick)' if self.quick else ''} — {os.cpu_count()} CPUs, load {load:.1f}"
        table = Table("measure", "ours", "peer (same run)", "ratio", "target", "result", title=title)
        colours = {PASS: "green", FAIL: "red", MISSING: "red", MISSING_ALLOWED: "yellow", INFO: "dim"}
        for r in self.rows:
            peer = (
                "-"
                if r.peer_name is None
                else f"{r.peer_name}: "
                + (
                    f"{_figure(r.peer)} {r.unit}"
                    if r.peer is not None
                    else f"not measured ({r.note or 'no figure'})"
                )
            )
            ratio = "-" if r.ratio is None else f"{r.ratio:,.2f}×"
            ours = f"{_figure(r.ours)} {r.unit}"
            if r.ours is None:
                ours = "not measured" + (f" ({r.note})" if r.note and r.peer is not None else "")
            table.add_row(r.what, ours, peer, ratio, r.target_text(), f"[{colours[r.result]}]{r.result}[/]")
        console = Console(width=max(150, Console().width))
        console.print(table)
        for text in self.notes:
            console.print(f"  {text}")

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for r in self.rows:
            data = asdict(r)
            data["ratio"] = r.ratio
            data["target"] = r.target_text()
            rows.append(data)
        return {"benchmark": self.title, "quick": self.quick, "cpus": os.cpu_count(), "rows": rows}

    def finish(self) -> NoReturn:
        self.render()
        if self.json_path:
            Path(self.json_path).write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False))
        code = self.exit_code()
        if code:
            names = ", ".join(r.what for r in self.failed) or "no rows were reported"
            print(f"{self.title}: FAILED — {names}", file=sys.stderr)
        sys.exit(code)


def markdown(paths: Sequence[str]) -> str:
    """The rows of ``--json`` files as one Markdown table (for docs/benchmarks.md)."""
    lines = [
        "| benchmark | measure | ours | peer | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in paths:
        data = json.loads(Path(path).read_text())
        name = data["benchmark"].removeprefix("benchmarks/") + (" (--quick)" if data.get("quick") else "")
        for r in data["rows"]:
            ours = "not measured" if r["ours"] is None else f"{_figure(r['ours'])} {r['unit']}"
            peer = "-"
            if r["peer_name"]:
                measured = f"{_figure(r['peer'])} {r['unit']}" if r["peer"] is not None else "not measured"
                peer = f"{r['peer_name']}: {measured}"
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:,.2f}×"
            cells = [name, r["what"], ours, peer, ratio, r["target"], r["result"]]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":  # python benchmarks/_report.py a.json b.json  → a Markdown table of their rows
    print(markdown(sys.argv[1:]))
