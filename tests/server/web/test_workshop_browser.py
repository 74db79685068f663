"""A live workshop in Debian's Chromium: a facilitator opens it and puts the projector up, three learners join
at once in their own browsers, answer with feedback after each answer and run the simulation as two groups,
one takes the maturity self-assessment (radar and roadmap), one edits a Wardley map with a live preview,
and the projector updates by itself (its own polling script) — with no serious or critical axe (WCAG 2.1 AA)
violation on the workshop pages and every control reachable by keyboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.server.web.browser import launch, require_chromium, serious_violations, unreachable_by_keyboard
from tests.server.web.workshop_fixtures import WorkshopServer, workshop_web

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("web-workshop-browser")]
__all__ = ["workshop_web"]
LEARNERS = ("Ada", "Grace", "Linus")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


def check_page(page: Any) -> None:
    assert serious_violations(page) == []
    assert unreachable_by_keyboard(page) == []


def test_a_facilitator_and_three_learners_at_once(browser: Any, workshop_web: WorkshopServer) -> None:
    url = workshop_web.url
    facilitator = browser.new_context().new_page()
    facilitator.set_default_timeout(90_000)
    facilitator.goto(url + "/workshops")
    facilitator.fill("#token", workshop_web.carol)
    facilitator.keyboard.press("Enter")
    facilitator.wait_for_url(url + "/workshops")
    check_page(facilitator)
    facilitator.fill("#title", "Strategy morning")
    facilitator.select_option("#level", "novice")
    facilitator.fill("#questions", "2")
    facilitator.get_by_role("button", name="Open").click()
    facilitator.wait_for_url(re.compile(r"/workshops/[A-Z2-9]{6}$"))
    code = facilitator.locator("#code").inner_text()
    facilitator.fill("#poll-question", "Ready to start?")
    facilitator.fill("#poll-options", "Yes\nNot yet")
    facilitator.get_by_role("button", name="Ask the room").click()
    facilitator.wait_for_url(re.compile(r"#polls$"))
    check_page(facilitator)
    facilitator.get_by_role("link", name="Projector view").click()
    facilitator.wait_for_url(re.compile(r"/projector$"))
    assert facilitator.locator("#counts").inner_text().startswith("0 learners")
    check_page(facilitator)

    learners = []
    for name in LEARNERS:  # three browsers, each its own context (own cookies), all open at once
        tab = browser.new_context().new_page()
        tab.set_default_timeout(90_000)
        tab.goto(f"{url}/w?code={code}")
        learners.append((name, tab))
    check_page(learners[0][1])
    for name, tab in learners:
        tab.fill("#name", name)
    for _, tab in learners:
        tab.get_by_role("button", name="Join").click()
    for name, tab in learners:
        tab.wait_for_url(f"{url}/w/{code}")
        assert name in tab.locator("header").inner_text()
    check_page(learners[0][1])
    for _, tab in learners:
        tab.get_by_role("button", name="Yes").click()
        tab.wait_for_selector("#poll [role=status]")

    for i, (_, tab) in enumerate(learners):
        for _question in range(2):
            tab.locator("#question button.option").nth(i % 2).click()
            tab.wait_for_url(re.compile(r"feedback="))
            assert "points" in tab.locator("#feedback").inner_text()
        assert "Your score" in tab.locator("#quiz-result").inner_text()
    check_page(learners[0][1])

    for (_, tab), group in zip(learners[:2], ("Red", "Blue"), strict=True):
        tab.fill("#group", group)
        if group == "Red":
            for box in tab.locator("#sim input[type=checkbox]").all():
                box.check()
        tab.get_by_role("button", name="Run the simulation").click()
        tab.wait_for_selector("#sim-result")
    check_page(learners[0][1])

    linus = learners[2][1]
    linus.select_option("#maturity-form select >> nth=0", "3")
    linus.get_by_role("button", name="Assess").click()
    linus.wait_for_selector("#roadmap-30")
    assert linus.locator("svg.radar").count() == 1
    check_page(linus)
    linus.locator("#roadmap-form input[type=text] >> nth=0").fill("Head of data")
    linus.get_by_role("button", name="Save my roadmap").click()
    linus.wait_for_url(re.compile(r"/roadmap\?saved=1$"))
    assert linus.locator("#roadmap-form input[type=text] >> nth=0").input_value() == "Head of data"
    check_page(linus)

    grace = learners[1][1]
    grace.goto(f"{url}/w/{code}")
    grace.get_by_role("link", name="Open the Wardley map editor").click()
    grace.wait_for_selector("#preview svg")
    check_page(grace)
    grace.locator("#owm").press("End")
    grace.locator("#owm").press("Control+End")
    grace.keyboard.type("\ncomponent Kettle [0.33, 0.77]\n")
    grace.wait_for_function("() => document.querySelector('#preview svg').textContent.includes('Kettle')")
    grace.get_by_role("button", name="Save my map").click()
    grace.wait_for_selector("p.notice[role=status]")
    grace.locator("#owm").press("Control+End")
    grace.keyboard.type("component Broken [9]\n")
    grace.wait_for_selector("#preview [role=alert]")
    assert "line" in grace.locator("#preview [role=alert]").inner_text()

    # the projector was never reloaded: its script polled results.json and swapped in the new results
    facilitator.wait_for_function(
        "() => document.querySelector('#counts').innerText.startsWith('3 learners')", timeout=90_000
    )
    facilitator.wait_for_selector("#groups", timeout=90_000)
    facilitator.wait_for_function(
        "() => document.querySelector('#groups').innerText.includes('Blue')"
        " && document.querySelector('#groups').innerText.includes('Red')",
        timeout=90_000,
    )
    facilitator.wait_for_selector("#maturity-pooled", timeout=90_000)
    assert "3 votes" in facilitator.locator("#poll-results").inner_text()
    assert "6 answers" in facilitator.locator("#counts").inner_text()
    assert facilitator.locator("#live svg.chart").count() >= 1
    check_page(facilitator)
    for name, _ in learners:
        assert name in facilitator.locator("#scores").inner_text()
    facilitator.wait_for_selector("#works", timeout=90_000)  # the saved roadmap and map, listed live
    facilitator.get_by_role("link", name="Show every saved roadmap and map").click()
    work = facilitator.locator("main").inner_text()
    assert f"Roadmap of {learners[2][0]}" in work and "Head of data" in work
    assert f"Wardley map of {learners[1][0]}" in work and facilitator.locator(".saved-map svg").count() == 1
    check_page(facilitator)
