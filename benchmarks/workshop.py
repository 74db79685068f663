"""Workshop benchmark: 40 learners at once on one triops server, and the projector's update time.

The sizing target of a live workshop (issue 20): 40 learners join by code, answer the scenario assessment and
run the group simulation all at once (one thread each in a process of their own, through HTTP as browsers do,
with 0.5-1.5 s to read each question before answering), while the projector polls
as its script does — ``results.json`` and, on a change, the live part. Target: the projector's update (poll
plus live part) ≤ 1 s at p95 under that load, and every learner's request answered (no error).

There is no peer: Mentimeter-style workshop tools are hosted services, not something to run beside us; the
target is absolute. The server runs as its own process on loopback (``triops server``, one worker).
Run: ``.venv-bench/bin/python benchmarks/workshop.py [--quick]`` (``--quick``: 20 learners, targets still apply).
"""

from __future__ import annotations

import multiprocessing
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import api as common
from _report import Report, parse_args

QUESTIONS = 6
GROUP_SIZE = 5
THINK_S = (0.5, 1.5)  # a learner reads a question before answering: uniform think time between requests


def prepare(home: Path) -> str:
    from triops import Workspace
    from triops.domain.clock import utc_ms
    from triops.governance import roles
    from triops.governance.rbac import Principal
    from triops.store.repositories.tokens import create_token

    ws = Workspace.open(f"sqlite:///{home}/triops.db", artifact_root=home / "artifacts")
    now = utc_ms(ws.clock.now())
    _, token = ws.store.write(lambda conn: create_token(conn, "facilitator", "bench", now))
    roles.grant(ws.store, Principal.owner("root"), "facilitator", "contributor", None)
    ws.close()
    return token


def csrf_of(html: str, name: str = "csrf") -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found is not None, html[:300]
    return found.group(1)


def facilitator(url: str, token: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=120)
    client.post("/login", data={"csrf": csrf_of(client.get("/login").text), "token": token, "next": "/"})
    form = {"csrf": csrf_of(client.get("/workshops").text), "title": "Bench", "level": "experienced",
            "tool_scenarios": "1", "tool_simulation": "1", "questions": str(QUESTIONS)}  # fmt: skip
    opened = client.post("/workshops", data=form, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    code = opened.headers["location"].rsplit("/", 1)[1]
    # as in the room: the browser lands on the console, then the facilitator opens the projector page,
    # whose script then polls (the pages' first rendering is not the projector's update)
    client.get(opened.headers["location"]).raise_for_status()
    client.get(f"/workshops/{code}/projector").raise_for_status()
    return client, code


def ok(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:  # a redirect after a form is the normal answer
        raise AssertionError(f"{response.request.url.path}: {response.status_code} {response.text[:200]}")
    return response


def learner(url: str, code: str, i: int, errors: list[str]) -> None:
    rng = random.Random(i)
    with httpx.Client(base_url=url, timeout=120, follow_redirects=False) as c:
        try:
            page = c.get(f"/w?code={code}").text
            form = {"csrf": csrf_of(page), "key": csrf_of(page, "key"), "code": code, "name": f"learner {i}"}
            ok(c.post("/w/join", data=form))
            for _ in range(QUESTIONS):
                time.sleep(rng.uniform(*THINK_S))
                home = c.get(f"/w/{code}").text
                scenario = re.search(r'name="scenario_id" value="([^"]+)"', home)
                if scenario is None:
                    break
                letters = re.findall(r'name="letter" value="([a-h])"', home)
                ok(c.post(f"/w/{code}/answer", data={"csrf": csrf_of(home), "scenario_id": scenario.group(1),
                                                      "letter": letters[i % len(letters)]}))  # fmt: skip
            if i % GROUP_SIZE == 0:  # one learner per group runs the group's simulation
                home = c.get(f"/w/{code}").text
                practices = re.findall(r'name="choice" value="([a-z_]+)"', home)[: 1 + i % 4]
                ok(c.post(f"/w/{code}/simulate", data={"csrf": csrf_of(home), "group": f"group {i // GROUP_SIZE}",
                                                       "choice": practices}))  # fmt: skip
        except (httpx.HTTPError, AssertionError) as exc:
            errors.append(f"learner {i}: {exc}")


def run_learners(url: str, code: str, n: int, out: Any) -> None:
    """All learners at once, in a process of their own: their client work is not the server's, and it must
    not compete with the projector's poller for this process's interpreter lock."""
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(lambda i: learner(url, code, i, errors), range(n)))
    out.put(errors)


def main() -> None:
    args = parse_args(__doc__)
    report = Report.from_args("workshop", args)
    n = 20 if args.quick else 40
    tmp = Path(tempfile.mkdtemp(prefix="triops-bench-workshop-"))
    proc = None
    try:
        token = prepare(tmp)
        proc, url = common.start_triops(tmp)
        projector, code = facilitator(url, token)
        updates: list[float] = []
        errors: list[str] = []
        done = threading.Event()

        def poll() -> None:
            version = None
            while not done.is_set():
                start = time.perf_counter()
                data = projector.get(f"/workshops/{code}/results.json").raise_for_status().json()
                if data["version"] != version:
                    version = data["version"]
                    projector.get(f"/workshops/{code}/projector?part=live").raise_for_status()
                updates.append(time.perf_counter() - start)
                time.sleep(0.5)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        began = time.perf_counter()
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        learners = ctx.Process(target=run_learners, args=(url, code, n, out))
        learners.start()
        errors.extend(out.get(timeout=1800))
        learners.join(timeout=60)
        wall = time.perf_counter() - began
        done.set()
        poller.join(timeout=120)
        final = projector.get(f"/workshops/{code}/results.json").json()
        idle = []
        for _ in range(10):
            start = time.perf_counter()
            projector.get(f"/workshops/{code}/results.json").raise_for_status()
            projector.get(f"/workshops/{code}/projector?part=live").raise_for_status()
            idle.append(time.perf_counter() - start)
        p95 = statistics.quantiles(updates, n=20)[-1] * 1000 if len(updates) >= 2 else None
        report.row(f"projector update under {n} learners, p95", p95, "ms", limit=1000)
        complete = final["learners"] == n and final["answers"] == n * QUESTIONS and not errors
        report.row(
            f"answers from {n} learners ({QUESTIONS} each), no errors",
            float(final["answers"]) if complete else None,
            "answers",
            target=f"= {n * QUESTIONS}",
        )
        report.note(
            f"{n} learners finished in {wall:.1f} s; {len(updates)} projector updates; {len(final['groups'])} "
            f"groups; projector update with no learner active p50 {statistics.median(idle) * 1000:.0f} ms; "
            f"errors {errors[:3]}"
        )
        projector.close()
    finally:
        if proc is not None:
            before = children_cpu()
            common.stop(proc)
            report.note(f"server CPU (with its simulation workers) {children_cpu() - before:.1f} s")
        shutil.rmtree(tmp, ignore_errors=True)
    report.finish()


def children_cpu() -> float:
    """CPU seconds of the waited-for child processes (a stopped server's includes its own workers')."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


if __name__ == "__main__":
    main()
