"""Learners' own work in a live workshop: the 30-60-90-day roadmap they edited and the Wardley map they drew.

Each learner keeps one of each (saving again replaces it), stored with the session and deleted with it, so
the facilitator can show them on the projector and they go into the export. A roadmap is a list of actions
(phase, title, owner, done when); a map is OWM text, saved only when it parses (its problems are named).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from triops.errors import InvalidInputError
from triops.store.repositories import workshops as repo

if TYPE_CHECKING:
    from triops.workspace.workshop import WorkshopService

PHASES = ("30", "60", "90", "later")
MAX_ACTIONS = 200
MAX_MAP = 20_000


def _clean(value: Any, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def save_roadmap(
    service: WorkshopService, code: str, learner: dict[str, Any], actions: Sequence[dict[str, Any]]
) -> list[dict[str, str]]:
    """Store the learner's edited roadmap: ``actions`` of ``phase`` (30, 60, 90 or later), ``title``,
    ``owner`` and ``done`` (dropped actions are left out by the caller)."""
    session = service.open_session(code)
    if "maturity" not in session["tools"]:
        raise InvalidInputError("this workshop has no maturity self-assessment and roadmap")
    if len(actions) > MAX_ACTIONS:
        raise InvalidInputError(f"actions: a roadmap holds at most {MAX_ACTIONS} actions")
    cleaned = []
    for i, action in enumerate(actions, start=1):
        phase = str(action.get("phase", ""))
        if phase not in PHASES:
            raise InvalidInputError(f"phase_{i}: choose 30, 60, 90 or later")
        title = _clean(action.get("title"), 200)
        if not title:
            raise InvalidInputError(f"title_{i}: an action needs a title")
        cleaned.append(
            {
                "phase": phase,
                "title": title,
                "owner": _clean(action.get("owner"), 120),
                "done": _clean(action.get("done"), 500),
            }
        )
    _save(service, session, learner, "roadmap", {"actions": cleaned})
    return cleaned


def save_map(service: WorkshopService, code: str, learner: dict[str, Any], text: str) -> None:
    """Store the learner's Wardley map (OWM text) once it parses."""
    session = service.open_session(code)
    if "wardley" not in session["tools"]:
        raise InvalidInputError("this workshop has no Wardley map editor")
    if len(text) > MAX_MAP:
        raise InvalidInputError(f"text: a map is at most {MAX_MAP:,} characters")
    report = service.ws.strategy.wardley_check(text)
    if not report.ok:
        problems = "; ".join(str(p) for p in report.errors[:3])
        raise InvalidInputError(f"text: the map cannot be drawn, so it was not saved: {problems}")
    _save(service, session, learner, "wardley", {"text": text})


def _save(
    service: WorkshopService,
    session: dict[str, Any],
    learner: dict[str, Any],
    kind: str,
    content: dict[str, Any],
) -> None:
    if learner["session_id"] != session["id"]:
        raise InvalidInputError("this learner belongs to another workshop; reload the page")
    values = {"learner_id": learner["id"], "kind": kind, "session_id": session["id"], "content": content}
    service.ws.store.write(lambda conn: repo.save_work(conn, values, service._now()))


def works(service: WorkshopService, session: dict[str, Any]) -> list[dict[str, Any]]:
    """Every saved roadmap and map of the session: ``learner`` (display name), ``kind``, ``content``,
    ``saved_ms``."""
    with service.ws.store.connect() as conn:
        rows = repo.works(conn, session["id"])
    return [
        {"learner": r["display_name"], "kind": r["kind"], "content": r["content"], "saved_ms": r["saved_ms"]}
        for r in rows
    ]


def work_of(service: WorkshopService, session: dict[str, Any], learner: dict[str, Any], kind: str) -> Any:
    """The learner's own saved roadmap or map content (``None``: nothing saved yet)."""
    found = [
        w for w in works(service, session) if w["learner"] == learner["display_name"] and w["kind"] == kind
    ]
    return found[0]["content"] if found else None


def roadmap_markdown(title: str, actions: Sequence[dict[str, str]], *, level: int = 1) -> list[str]:
    """A roadmap as Markdown lines: ``title`` as a heading of ``level``, then one section per phase."""
    lines = ["#" * level + f" {title}", ""]
    for phase in PHASES:
        items = [a for a in actions if a["phase"] == phase]
        lines += ["#" * (level + 1) + (" Later" if phase == "later" else f" First {phase} days"), ""]
        lines += [
            f"- **{a['title']}** — owner: {a['owner'] or 'unassigned'}; done when: {a['done'] or '—'}"
            for a in items
        ] or ["- nothing"]
        lines.append("")
    return lines


__all__ = ["PHASES", "roadmap_markdown", "save_map", "save_roadmap", "work_of", "works"]
