"""Jinja2 templates that turn a model card (plain data from ``triops.mlops.registry.cards``) into Markdown or HTML.

HTML is rendered with autoescaping, so names and human text containing markup are shown literally.
Every section carries ``<!-- human:KEY -->`` markers around its human-written text; edit between them and
import the file again to keep the text across regenerations.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

HUMAN_FIRST = ("intended_use", "ethical_considerations", "caveats_and_recommendations")

_TEMPLATES = Path(__file__).parent / "templates"


def num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def gap_interval(report: Mapping[str, Any], gap: str) -> str:
    """`` (interval 0.01–0.08)`` for a fairness gap with a bootstrap interval, else nothing."""
    found = (report.get("intervals") or {}).get(gap) or {}
    if found.get("low") is None or found.get("high") is None:
        return ""
    return f" (interval {num(found['low'])}–{num(found['high'])})"


def pct(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.0f} %"


def plain(value: Any) -> str:
    """A nested value as short readable text (HTML escaping is the template's job)."""
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {plain(v)}" for k, v in value.items() if v not in (None, [], {}, ""))
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return num(value)


def _render(name: str, card: Mapping[str, Any], *, html: bool) -> str:
    import jinja2

    # Markdown is not HTML-escaped on purpose (it is text); HTML always is.
    env = jinja2.Environment(autoescape=html, keep_trailing_newline=True)  # noqa: S701
    template = env.from_string((_TEMPLATES / name).read_text(encoding="utf-8"))
    text = template.render(
        card=card, num=num, pct=pct, plain=plain, gap_interval=gap_interval, human_first=HUMAN_FIRST
    )
    if not html:
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
    return text


def render_markdown(card: Mapping[str, Any]) -> str:
    return _render("model_card.md.j2", card, html=False)


def render_html(card: Mapping[str, Any]) -> str:
    return _render("model_card.html.j2", card, html=True)
