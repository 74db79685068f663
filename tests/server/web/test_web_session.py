"""Login, sessions, CSRF and roles of the web app, over HTTP against a real server (no browser needed)."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa
from tests.server.web.conftest import WebServer

from triops.domain.clock import utc_ms
from triops.store.repositories.tokens import revoke_token
from triops.store.schema import metadata

pytestmark = pytest.mark.xdist_group("web-session")  # one worker seeds this module


def _client(web: WebServer) -> httpx.Client:
    return httpx.Client(base_url=web.url, follow_redirects=False, timeout=60)


def login(web: WebServer, token: str) -> httpx.Client:
    client = _client(web)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post("/login", data={"csrf": csrf.group(1), "token": token, "next": "/runs"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/runs"
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _snapshots(web: WebServer) -> int:
    table = metadata.tables["kpi_snapshots"]
    with web.ws.store.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_pages_need_a_login_and_the_session_cookie_is_httponly_and_strict(web: WebServer) -> None:
    anonymous = _client(web)
    answer = anonymous.get("/runs?project=alpha")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=%2Fruns")
    page = anonymous.get("/login")
    csrf = csrf_of(page.text)
    done = anonymous.post("/login", data={"csrf": csrf, "token": web.seeded.alice, "next": "/"})
    cookie = done.headers["set-cookie"]
    assert "triops_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert web.seeded.alice not in cookie  # the token itself never goes into the browser


def test_a_wrong_token_answers_the_login_form_with_401_and_no_session(web: WebServer) -> None:
    client = _client(web)
    csrf = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"csrf": csrf, "token": "tri_not-a-token"})
    assert answer.status_code == 401
    assert "not valid" in answer.text
    assert "triops_session" not in answer.headers.get("set-cookie", "")


def test_login_without_its_csrf_token_is_refused(web: WebServer) -> None:
    answer = _client(web).post("/login", data={"token": web.seeded.alice})
    assert answer.status_code == 403


def test_a_login_redirect_never_leaves_this_server(web: WebServer) -> None:
    client = _client(web)
    csrf = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"csrf": csrf, "token": web.seeded.alice, "next": "//evil.example/x"})
    assert answer.headers["location"] == "/"


def test_every_page_sends_a_self_only_content_security_policy(web: WebServer) -> None:
    client = login(web, web.seeded.alice)
    answer = client.get("/")
    assert answer.status_code == 200
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    assert "http://" not in re.sub(r'href="http://127\.0\.0\.1[^"]*"', "", answer.text).split("<body>")[0]


def test_a_form_posted_without_or_with_a_stale_csrf_token_is_403_and_changes_nothing(web: WebServer) -> None:
    client = login(web, web.seeded.alice)
    before = _snapshots(web)
    assert client.post("/kpis/record", data={"project": "alpha"}).status_code == 403
    assert client.post("/kpis/record", data={"project": "alpha", "csrf": "stale"}).status_code == 403
    other = login(web, web.seeded.alice)  # another session's token is stale for this one
    other_csrf = csrf_of(other.get("/").text)
    assert client.post("/kpis/record", data={"project": "alpha", "csrf": other_csrf}).status_code == 403
    assert _snapshots(web) == before
    good = client.post("/kpis/record", data={"project": "alpha", "csrf": csrf_of(client.get("/").text)})
    assert good.status_code == 303
    assert _snapshots(web) > before


def test_a_revoked_token_ends_its_sessions_and_a_pending_form_is_not_applied(web: WebServer) -> None:
    ws = web.ws
    now = utc_ms(ws.clock.now())
    from triops.store.repositories.tokens import create_token

    token_id, token = ws.store.write(lambda conn: create_token(conn, "alice", "short-lived", now))
    client = login(web, token)
    csrf = csrf_of(client.get("/").text)
    ws.store.write(lambda conn: revoke_token(conn, token_id, now))
    before = _snapshots(web)
    answer = client.post("/kpis/record", data={"project": "alpha", "csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    assert _snapshots(web) == before
    assert client.get("/runs").headers["location"].startswith("/login")


def test_an_expired_token_sends_the_browser_back_to_login(web: WebServer) -> None:
    ws = web.ws
    now = utc_ms(ws.clock.now())
    from triops.store.repositories.tokens import create_token

    token_id, token = ws.store.write(lambda conn: create_token(conn, "alice", "expiring", now, now + 60_000))
    client = login(web, token)
    assert client.get("/").status_code == 200
    table = metadata.tables["api_tokens"]
    ws.store.write(
        lambda conn: conn.execute(table.update().where(table.c.id == token_id).values(expires_ms=now - 1))
    )
    assert client.get("/").headers["location"].startswith("/login")


def test_logout_ends_the_session(web: WebServer) -> None:
    client = login(web, web.seeded.alice)
    csrf = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/").status_code == 303


@pytest.mark.parametrize(
    "path",
    [
        "/runs?project=secret",
        "/runs/{secret_run}",
        "/pipelines?project=secret",
        "/datasets?project=secret",
        "/costs?project=secret",
    ],
)
def test_an_object_in_a_project_the_user_cannot_read_is_404(web: WebServer, path: str) -> None:
    client = login(web, web.seeded.bob)
    answer = client.get(path.format(secret_run=web.seeded.secret_run))
    assert answer.status_code == 404
    assert "does not exist" in answer.text


def test_lists_leave_out_what_the_user_cannot_read(web: WebServer) -> None:
    client = login(web, web.seeded.bob)
    runs = client.get("/runs").text
    assert "logreg-0" in runs
    assert "classified-run" not in runs
    home = client.get("/").text
    assert "alpha" in home
    assert "secret" not in home


def test_a_viewer_cannot_decide_an_approval(web: WebServer) -> None:
    client = login(web, web.seeded.bob)
    csrf = csrf_of(client.get("/governance").text)
    answer = client.post(
        f"/governance/approvals/{web.seeded.approval_id}",
        data={"csrf": csrf, "verdict": "approve", "justification": "looks fine"},
    )
    assert answer.status_code in (403, 404)
    pending = web.ws.governance.approval_requests(status="pending")
    assert any(r["id"] == web.seeded.approval_id for r in pending)


def test_dev_mode_shows_pages_to_loopback_without_login(dev_web: WebServer) -> None:
    client = _client(dev_web)
    answer = client.get("/")
    assert answer.status_code == 200
    assert "dev mode" in answer.text
    assert "secret" in answer.text  # the owner sees every project
    assert client.get("/", headers={"host": "evil.example"}).status_code == 421


def test_a_malformed_address_is_an_html_page_naming_the_field(web: WebServer) -> None:
    client = login(web, web.seeded.alice)
    answer = client.get("/runs?offset=-3")
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"]
    assert "offset" in answer.text
    assert client.get("/datasets/alpha/benefits/two").status_code == 422


def test_a_dataset_diff_is_tables_and_its_lineage_a_graph(web: WebServer) -> None:
    page = login(web, web.seeded.alice).get("/datasets/alpha/benefits/2").text
    summary = page.split('id="diff-summary"')[1].split("</table>")[0]
    assert re.search(r"Rows</th><td[^>]*>600</td><td[^>]*>100</td><td[^>]*>-500<", summary)
    assert re.search(r"Failing rules</th><td[^>]*>1 of 50</td><td[^>]*>6 of 50</td><td[^>]*>\+5<", summary)
    assert "Same columns and types." in page.split('id="diff-schema"')[1].split("</table>")[0]
    shift = page.split('id="diff-shift"')[1].split("</table>")[0]
    assert re.search(
        r"<th scope=\"row\">state</th><td[^>]*>[\d.]+</td><td[^>]*>[\d.]+</td><td>major</td>", shift
    )
    assert "<pre>" not in page.split("Changes since")[1]  # no JSON dump
    assert '<svg class="chart lineage-graph" role="img"' in page and "Lineage as a list" in page


def test_budgets_have_a_burn_down_with_a_forecast(web: WebServer) -> None:
    page = login(web, web.seeded.alice).get("/costs").text
    figure = page.split('<figure class="burn-down">')[1].split("</figure>")[0]
    assert "<title>burn-down of budget project alpha" in figure
    assert figure.count("<polyline") + figure.count("<circle") == 3  # budget, spent, forecast
    assert "by the period's end" in figure


def test_monitoring_pages_show_drift_performance_and_alerts_to_who_may_read_them(
    web: WebServer, dev_web: WebServer
) -> None:
    owner = _client(dev_web)
    listing = owner.get("/monitoring").text
    assert re.search(r'<a href="/monitoring"[^>]*>Monitoring</a>', listing)  # nav, via register_section
    assert re.search(r'href="/monitoring/claims/1">claims v1</a>', listing)
    assert "drifted" in listing.split('id="alerts"')[1] and "alerts per day" in listing
    detail = owner.get("/monitoring/claims/1").text
    latest = detail.split('id="latest-drift"')[1].split("</table>")[0]
    assert '<th scope="row">age</th>' in latest and '<th scope="row">tenure</th>' in latest
    assert "<title>PSI per feature over the windows of claims/1</title>" in detail
    assert re.search(r"roc_auc</td><td[^>]*>0\.\d+</td><td[^>]*>0\.\d+ – 0\.\d+</td>", detail)
    alice = login(web, web.seeded.alice)  # no role in the model's project
    assert "claims" not in alice.get("/monitoring").text
    hidden = alice.get("/monitoring/claims/1")
    assert hidden.status_code == 404 and "does not exist" in hidden.text


def test_gate_decisions_show_their_rules_reasons_and_facts_to_who_may_read_them(web: WebServer) -> None:
    alice = login(web, web.seeded.alice)
    page = alice.get("/governance/gates")
    assert page.status_code == 200
    table = page.text.split('id="gate-decisions"')[1].split("</table>")[0]
    assert "model.stage" in table and "ui-model" in table and "hidden-model" not in table
    assert '<span class="status failed">' in table  # blocked: the approval is still pending
    section = page.text.split('class="gate-decision"')[1].split("</section>")[0]
    assert "<dt>metrics.roc_auc</dt><dd>0.81</dd>" in section
    assert 'class="gate-rules"' in section
    assert alice.get("/governance/gates?project=secret").status_code == 404
    bad = alice.get("/governance/gates?gate=model.nope")
    assert bad.status_code == 422 and "gate" in bad.text


def test_cached_pages_show_a_write_at_once(dev_web: WebServer) -> None:
    """The scorecard and the audit verification are kept per store state: a write by anyone is on the
    next view (here by the workspace's own connections, as a CLI on the same store would write)."""
    from triops.store.audit import append_event

    client = _client(dev_web)

    def snapshots() -> list[int]:
        return [int(n) for n in re.findall(r"last (\d+) snapshots", client.get("/").text)]

    def checked() -> int:
        found = re.search(r"([\d,]+) events checked", client.get("/governance").text)
        assert found is not None
        return int(found.group(1).replace(",", ""))

    before, events = snapshots(), checked()
    assert snapshots() == before and checked() == events
    dev_web.ws.kpis.record("alpha")
    after = snapshots()
    assert sum(after) == sum(before) + len(dev_web.ws.kpis.scorecard("alpha"))
    dev_web.ws.store.write(
        lambda conn: append_event(
            conn,
            actor="test",
            action="test.cache",
            object_type="test",
            object_id="1",
            before=None,
            after={},
            project=None,
            at_ms=utc_ms(dev_web.ws.clock.now()),
        )
    )
    assert checked() == events + 1
