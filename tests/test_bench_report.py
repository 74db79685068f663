"""The benchmark report (benchmarks/_report.py) can fail: a missed target and a peer that could not be
measured each exit non-zero (the latter unless --allow-missing), driven as ``make bench`` drives a script."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "_report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_report"] = module
    spec.loader.exec_module(module)
    return module


SCRIPT = """
import sys
sys.path.insert(0, {bench!r})
from _report import Report, measure_peer, parse_args

args = parse_args(__doc__)
report = Report.from_args("demo", args)
case = {case!r}
if case == "pass":
    report.row("fast thing", 2.0, "ms", peer=40.0, peer_name="Peer", limit=5, min_ratio=10)
elif case == "limit":
    report.row("slow thing", 7.0, "ms", peer=400.0, peer_name="Peer", limit=5, min_ratio=10)
elif case == "ratio":
    report.row("not faster enough", 2.0, "ms", peer=10.0, peer_name="Peer", limit=5, min_ratio=10)
elif case == "rate":
    report.row("throughput", 150_000.0, "rows/s", higher_is_better=True, limit=200_000)
elif case == "missing":
    def peer():
        import no_such_peer_package  # noqa: F401
    value, why = measure_peer(peer)
    report.row("fast thing", 2.0, "ms", peer=value, peer_name="Peer", note=why, limit=5, min_ratio=10)
elif case == "crash":
    def peer():
        raise RuntimeError("peer server did not start")
    value, why = measure_peer(peer)
    report.row("fast thing", 2.0, "ms", peer=value, peer_name="Peer", note=why, limit=5, min_ratio=10)
elif case == "empty":
    pass
report.finish()
"""


def _run(tmp_path: Path, case: str, *flags: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / f"bench_{case}.py"
    script.write_text(SCRIPT.format(bench=str(BENCH), case=case))
    out = tmp_path / f"{case}.json"
    return subprocess.run(
        [sys.executable, str(script), "--json", str(out), *flags],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_met_target_exits_zero(tmp_path: Path) -> None:
    done = _run(tmp_path, "pass")
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "pass.json").read_text())["rows"]
    assert rows[0]["result"] == "PASS"
    assert rows[0]["ratio"] == pytest.approx(20.0)


@pytest.mark.parametrize("case", ["limit", "ratio", "rate", "empty"])
def test_a_missed_target_exits_non_zero(tmp_path: Path, case: str) -> None:
    done = _run(tmp_path, case)
    assert done.returncode == 1
    assert "FAILED" in done.stderr


@pytest.mark.parametrize("case", ["missing", "crash"])
def test_a_peer_that_could_not_be_measured_fails_unless_allowed(tmp_path: Path, case: str) -> None:
    done = _run(tmp_path, case)
    assert done.returncode == 1
    assert "NOT MEASURED" in done.stdout
    row = json.loads((tmp_path / f"{case}.json").read_text())["rows"][0]
    assert row["result"] == "NOT MEASURED" and row["peer"] is None and row["note"]
    allowed = _run(tmp_path, case, "--allow-missing")
    assert allowed.returncode == 0, allowed.stderr
    assert "not measured" in allowed.stdout


def test_allow_missing_never_excuses_a_missed_target(tmp_path: Path) -> None:
    assert _run(tmp_path, "limit", "--allow-missing").returncode == 1


def test_rows_judge_ratios_in_both_directions() -> None:
    report = _report()
    lower = report.Row("t", 2.0, "ms", peer=30.0, peer_name="P", min_ratio=10)
    assert lower.ratio == pytest.approx(15.0) and lower.judge(False) == "PASS"
    higher = report.Row("r", 300.0, "rows/s", peer=100.0, peer_name="P", higher_is_better=True, min_ratio=10)
    assert higher.ratio == pytest.approx(3.0) and higher.judge(False) == "FAIL"
    at_most = report.Row("p", 1.1, "s", peer=1.0, peer_name="polars", min_ratio=1 / 1.2)
    assert at_most.judge(False) == "PASS" and "1.2×" in at_most.target_text()
    assert report.Row("p", 1.3, "s", peer=1.0, peer_name="polars", min_ratio=1 / 1.2).judge(False) == "FAIL"
    assert report.Row("ours missing", None, "s", limit=1).judge(True) == "FAIL"
    assert report.Row("no target", 1.0, "s").judge(False) == "info"


def test_make_bench_runs_every_benchmark_and_fails_if_any_did(tmp_path: Path) -> None:
    """The loop ``make bench`` runs (printed by ``make -n``), over two failing and one passing script."""
    for name, code in (("a", 1), ("b", 0), ("c", 1)):
        (tmp_path / "benchmarks").mkdir(exist_ok=True)
        (tmp_path / "benchmarks" / f"{name}.py").write_text(
            f"print('ran {name}')\nraise SystemExit({code})\n"
        )
    (tmp_path / "benchmarks" / "_report.py").write_text("raise SystemExit(1)\n")  # a module, not a benchmark
    printed = subprocess.run(
        [
            "make",
            "-n",
            "-C",
            str(BENCH.parent),
            "bench-quick",
            f"BENCH_VENV={Path(sys.executable).parent.parent}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loop = next(line for line in printed.splitlines() if line.startswith("failed="))
    done = subprocess.run(["sh", "-c", loop], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "ran a" in done.stdout and "ran b" in done.stdout and "ran c" in done.stdout
    assert "benchmarks failed: benchmarks/a.py benchmarks/c.py" in done.stdout


def test_json_rows_render_as_a_markdown_table(tmp_path: Path) -> None:
    _run(tmp_path, "missing")
    table = _report().markdown([str(tmp_path / "missing.json")])
    assert "| demo | fast thing | 2 ms | Peer: not measured | - |" in table
    assert table.splitlines()[2].endswith("| NOT MEASURED |")
