"""Every page's main path in Debian's Chromium: log in with the keyboard, search, sort and compare runs, read a
pipeline's DAG, a failing dataset version, a model's evaluation, costs with the FOCUS download, decide an
approval, record a KPI snapshot — with no serious or critical axe (WCAG 2.1 AA) violation on any page and
every control reachable by keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.web.browser import launch, require_chromium, serious_violations, unreachable_by_keyboard
from tests.server.web.conftest import WebServer

# one worker seeds and serves this module (make test runs with --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("web-browser")]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser: Any, web: WebServer) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(web.url + "/runs")
    assert "/login" in tab.url
    tab.keyboard.press("Tab")  # skip link
    tab.keyboard.press("Tab")  # ...then through the header to the token field
    tab.focus("#token")
    tab.keyboard.type(web.seeded.alice)
    tab.keyboard.press("Enter")
    tab.wait_for_url(web.url + "/runs")
    yield tab
    context.close()


def check_page(page: Any) -> None:
    assert serious_violations(page) == []
    assert unreachable_by_keyboard(page) == []


def test_login_page_is_accessible(browser: Any, web: WebServer) -> None:
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(web.url + "/login")
    check_page(tab)
    context.close()


def test_scorecard_shows_every_project_and_records_a_snapshot(page: Any, web: WebServer) -> None:
    page.goto(web.url + "/")
    assert page.locator("h1").inner_text() == "Shared KPI scorecard"
    table = page.locator("table.kpis").first
    assert "data quality score" in table.inner_text()
    assert "no data yet" in table.inner_text()  # monitoring/serving facts do not exist yet
    check_page(page)
    page.get_by_role("button", name="Record a snapshot of alpha").click()
    page.wait_for_url(web.url + "/")
    assert page.locator("table.kpis").first.locator("svg.spark").count() > 0


def test_runs_filter_sort_and_compare_with_charts_and_param_diff(page: Any, web: WebServer) -> None:
    page.goto(web.url + "/runs?project=alpha")
    page.fill("#filter", "metrics.auc > 0.62")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 2
    page.get_by_role("link", name="auc").click()  # sort by auc
    names = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
    assert names in (["logreg-1", "logreg-2"], ["logreg-2", "logreg-1"])
    check_page(page)
    for i in range(rows.count()):
        rows.nth(i).locator("input[type=checkbox]").check()
    page.get_by_role("button", name="Compare selected runs").click()
    assert page.locator("h1").inner_text() == "Compare 2 runs"
    assert page.locator("svg.chart polyline").count() >= 2  # loss history of both runs
    assert "yes" in page.locator("#param-diff").inner_text()
    check_page(page)


def test_a_bad_filter_is_shown_in_the_page(page: Any, web: WebServer) -> None:
    page.goto(web.url + "/runs")
    page.fill("#filter", "metrics.auc >>> 1")
    page.get_by_role("button", name="Search").click()
    assert page.locator("p.error").is_visible()


def test_pipeline_run_shows_the_dag_with_status_duration_cost_and_cache(page: Any, web: WebServer) -> None:
    page.goto(web.url + f"/pipelines/{web.seeded.pipeline_run}")
    steps = page.locator("#steps tbody tr")
    assert steps.count() == 3
    assert "make_numbers" in page.locator("ol.dag").inner_text()
    assert "EUR" in page.locator("#steps").inner_text() or "USD" in page.locator("#steps").inner_text()
    check_page(page)


def test_a_failed_pipeline_run_is_resumed_from_the_page(page: Any, web: WebServer) -> None:
    page.goto(web.url + f"/pipelines/{web.seeded.failed_run}")
    assert "failed" in page.locator("#steps").inner_text()
    check_page(page)
    web.seeded.marker.write_text("ok", encoding="utf-8")  # what was missing is there now
    page.get_by_role("button", name="Resume from the failed step").click()
    page.wait_for_url(lambda url: web.seeded.failed_run not in url and "/pipelines/" in url)
    assert "resumed from" in page.content()
    assert "finished" in page.locator("main p").first.inner_text()


def test_dataset_version_shows_failing_rules_profile_and_lineage(page: Any, web: WebServer) -> None:
    page.goto(web.url + "/datasets?project=alpha")
    page.get_by_role("link", name="benefits").last.click()
    assert "version 2" in page.locator("h1").inner_text()
    assert "failed" in page.locator("#rules").inner_text()
    assert page.locator("svg.chart").count() >= 1
    assert "-500" in page.locator("#diff-summary").inner_text()  # the diff is a table, not JSON
    assert page.locator("svg.lineage-graph").count() == 1
    check_page(page)


def test_model_version_shows_metrics_with_intervals_and_fairness(page: Any, web: WebServer) -> None:
    page.goto(web.url + "/models")
    page.get_by_role("link", name="ui-model").click()
    page.get_by_role("link", name="v1").click()
    metrics = page.locator("#metrics").inner_text()
    assert "roc_auc" in metrics
    assert "Fairness by sex" in page.content()
    assert "pending" in page.content()  # the approval request for this version
    check_page(page)


def test_costs_page_shows_the_projects_the_user_may_read(page: Any, web: WebServer) -> None:
    page.goto(web.url + "/costs?by=pipeline")
    assert "numbers" in page.locator("#cost-report").inner_text()
    assert "needs" in page.content()  # no workspace-wide cost.read: no workspace-wide FOCUS export
    assert page.locator("figure.burn-down svg polyline").count() >= 2  # the budget's burn-down
    check_page(page)


def test_costs_page_offers_the_focus_download(browser: Any, dev_web: WebServer) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(dev_web.url + "/costs?by=step")
    assert "numbers" in page.locator("#cost-report").inner_text()
    check_page(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download every cost as FOCUS 1.2 (CSV)").click()
    path = download.value.path()
    header = Path(path).read_text(encoding="utf-8").splitlines()[0]
    assert "BilledCost" in header and "BillingCurrency" in header
    page.goto(dev_web.url + "/costs/outlook")
    assert page.locator("#recommendations").count() == 1
    check_page(page)
    context.close()


def test_governance_approve_with_justification(page: Any, web: WebServer) -> None:
    page.goto(web.url + "/governance")
    check_page(page)
    page.fill(f"#j-{web.seeded.approval_id}", "fairness report reviewed")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(web.url + "/governance#approvals")
    assert "Nothing waiting" in page.locator("#pending").inner_text()
    assert "approved" in page.content()
    assert "audit.read" in page.locator("#audit").inner_text()  # alice may not verify the audit log


def test_governance_verifies_the_audit_log_and_monitoring_shows_drift(
    browser: Any, dev_web: WebServer
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(dev_web.url + "/governance?framework=eu-ai-act")
    assert page.locator("#audit-verify").inner_text().startswith("ok")
    assert page.locator("#compliance-items a").count() > 0  # evidence links to the page that holds it
    check_page(page)
    page.get_by_role("link", name="Monitoring").click()
    page.get_by_role("link", name="claims v1").click()
    assert "age" in page.locator("#latest-drift").inner_text()
    assert page.locator("svg.chart polyline").count() >= 2  # PSI over the windows, one line per feature
    check_page(page)
    page.goto(dev_web.url + "/monitoring")
    check_page(page)
    context.close()


def test_projects_pipelines_and_dataset_lists_are_accessible(page: Any, web: WebServer) -> None:
    paths = (
        "/projects",
        "/pipelines",
        "/datasets",
        "/models",
        "/governance/gates",
        f"/runs/{web.seeded.run_ids[0]}",
    )
    for path in paths:
        page.goto(web.url + path)
        assert page.locator("h1").count() == 1
        check_page(page)
