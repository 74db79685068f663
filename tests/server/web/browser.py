"""Browser helpers for the web tests: Debian's Chromium through Playwright (never a downloaded browser),
axe-core's WCAG 2.1 AA check and a keyboard walk that every control must be reachable in."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    # only violations are read: without this axe also returns every passing and inapplicable node, which
    # the page serialises and Python parses on each of the ~30 checked pages
    "resultTypes": ["violations"],
}


def require_chromium() -> None:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install -y chromium)")


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
    )


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), "
    "textarea:not([disabled]), summary"
)


#: Tab presses between two reads of what has been focused (fewer round trips to the browser; the walk still
#: stops at the same bound)
TABS_PER_READ = 8


def unreachable_by_keyboard(page: Any, max_presses: int = 400) -> list[str]:
    """Controls the Tab key never reaches (walking from the top of the page)."""
    # each control is known by a key that survives a live update re-rendering it (the projector swaps in new
    # results while the walk runs): its tag and label, and which of the controls with that label it is. A
    # focusin listener records the key of everything focused, so the walk reads the browser once per
    # TABS_PER_READ presses instead of once per press.
    count = page.evaluate(
        """(sel) => {
        const visible = () => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null);
        const label = (e) => e.tagName + '|' + (e.id || e.getAttribute('name') || e.getAttribute('href')
          || e.getAttribute('aria-label') || (e.innerText || e.value || '').trim().slice(0, 60));
        window.__kbKey = (e) => {
          const l = label(e);
          return l + '#' + visible().filter(x => label(x) === l).indexOf(e);
        };
        window.__kbExpected = visible().map(e => window.__kbKey(e));
        window.__kbSeen = new Set();
        if (!window.__kbListening) {
          document.addEventListener('focusin', (ev) => {
            if (ev.target && ev.target.matches && ev.target.matches(sel)) window.__kbSeen.add(window.__kbKey(ev.target));
          }, true);
          window.__kbListening = true;
        }
        return window.__kbExpected.length; }""",
        FOCUSABLE,
    )
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    limit = min(max_presses, count * 2 + 5)
    pressed = 0
    missing: list[str] = []
    while pressed < limit:
        for _ in range(min(TABS_PER_READ, limit - pressed)):
            page.keyboard.press("Tab")
            pressed += 1
        missing = page.evaluate("() => window.__kbExpected.filter(k => !window.__kbSeen.has(k))")
        if not missing:
            break
    return [m[:120] for m in missing]
