"""Pooled results of a live workshop (what the projector shows and polls) and its exports (JSON, Markdown).

Answers pool per scenario: how many learners chose each letter, which letter is best, and the share that
chose it; groups' simulation outcomes sit side by side with the siloed baseline. Exports carry display names
and nothing else about a learner.
"""

from __future__ import annotations

from typing import Any

from triops.store.repositories import workshops as repo
from triops.workspace.workshop import WorkshopService
from triops.workspace.workshop_works import roadmap_markdown, works

PILLARS = ("dataops", "mlops", "finops", "governance", "culture")
COMPARED = ("net_value", "projects_in_production", "time_to_production_weeks", "total_cost", "incidents")


def pooled(service: WorkshopService, session: dict[str, Any]) -> dict[str, Any]:
    with service.ws.store.connect() as conn:
        learners = repo.learners(conn, session["id"])
        answers = repo.answers(conn, session["id"])
        runs = repo.group_runs(conn, session["id"])
        maturity = repo.maturity_rows(conn, session["id"])
        polls = repo.polls(conn, session["id"])
        saved = repo.works(conn, session["id"])
    names = {lr["id"]: lr["display_name"] for lr in learners}
    scenarios = []
    if "scenarios" in session["tools"]:
        quiz = service.quiz(session)
        for q in quiz.questions:
            mine = [a for a in answers if a["scenario_id"] == q.scenario_id]
            best = quiz.answer(q.scenario_id, q.letters[0]).best_letter
            counts = {letter: sum(1 for a in mine if a["letter"] == letter) for letter in q.letters}
            scenarios.append(
                {
                    "scenario_id": q.scenario_id,
                    "number": q.number,
                    "title": q.title,
                    "pillar": q.pillar,
                    "counts": counts,
                    "answered": len(mine),
                    "best_letter": best,
                    "best_share": (counts[best] / len(mine)) if mine else None,
                }
            )
    scores: dict[str, list[int]] = {}
    for a in answers:
        got = scores.setdefault(a["learner_id"], [0, 0])
        got[0] += a["score"]
        got[1] += a["best_score"]
    board = sorted(
        (
            {"name": names.get(lid, "?"), "score": s, "max": m, "percent": round(100 * s / m) if m else 0}
            for lid, (s, m) in scores.items()
        ),
        key=lambda r: (-int(r["percent"]), str(r["name"])),
    )
    groups = [
        {
            "group": r["group_name"],
            "choices": r["choices"],
            "run_by": names.get(r["run_by"], "?"),
            "ran_ms": r["ran_ms"],
            "mix": {k: r["outcome"]["mix"].get(k) for k in COMPARED},
            "baseline": {k: r["outcome"]["baseline"].get(k) for k in COMPARED},
            "currency": r["outcome"].get("currency", "EUR"),
        }
        for r in runs
    ]
    levels = {
        p: [float(m["pillars"][p]) for m in maturity if m["pillars"].get(p) is not None] for p in PILLARS
    }
    return {
        "code": session["code"],
        "title": session["title"],
        "level": session["level"],
        "tools": session["tools"],
        "closed": session["closed_ms"] is not None,
        "learners": len(learners),
        "answers": len(answers),
        "scenarios": scenarios,
        "scores": board,
        "groups": groups,
        "polls": [
            {
                "id": p["id"],
                "question": p["question"],
                "options": p["options"],
                "counts": p["counts"],
                "votes": sum(p["counts"]),
            }
            for p in polls
        ],
        "works": [
            {"learner": w["display_name"], "kind": w["kind"], "saved_ms": w["saved_ms"]} for w in saved
        ],
        "maturity": {
            "assessed": len(maturity),
            "mean": {p: (sum(v) / len(v) if v else None) for p, v in levels.items()},
            "low": {p: (min(v) if v else None) for p, v in levels.items()},
            "high": {p: (max(v) if v else None) for p, v in levels.items()},
        },
    }


def export_json(service: WorkshopService, session: dict[str, Any]) -> dict[str, Any]:
    with service.ws.store.connect() as conn:
        learners = repo.learners(conn, session["id"])
    return {
        "works": works(service, session),
        "workshop": {
            k: session[k] for k in ("code", "title", "level", "tools", "questions", "seed", "facilitator")
        }
        | {"created_ms": session["created_ms"], "closed_ms": session["closed_ms"]},
        "learners": [lr["display_name"] for lr in learners],
        "results": pooled(service, session),
    }


def _num(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


def export_markdown(service: WorkshopService, session: dict[str, Any]) -> str:
    data = pooled(service, session)
    lines = [
        f"# Workshop: {session['title']}",
        "",
        f"Code {session['code']} · level {session['level']} · tools {', '.join(session['tools'])} · "
        f"{data['learners']} learners · {data['answers']} answers",
        "",
    ]
    if data["scenarios"]:
        lines += [
            "## Scenario assessment",
            "",
            "| # | Scenario | Answers | Best | Chose best |",
            "|---|---|---|---|---|",
        ]
        for s in data["scenarios"]:
            counts = ", ".join(f"{k}: {v}" for k, v in s["counts"].items())
            share = "—" if s["best_share"] is None else f"{100 * s['best_share']:.0f} %"
            lines.append(f"| {s['number']} | {s['title']} | {counts} | {s['best_letter']} | {share} |")
        lines += ["", "| Learner | Score | Percent |", "|---|---|---|"]
        lines += [f"| {r['name']} | {r['score']}/{r['max']} | {r['percent']} % |" for r in data["scores"]]
        lines.append("")
    if data["groups"]:
        lines += ["## Simulation by group (medians)", ""]
        lines += ["| Group | Choices | " + " | ".join(COMPARED) + " |", "|---" * (len(COMPARED) + 2) + "|"]
        for g in data["groups"]:
            cells = " | ".join(_num((g["mix"].get(k) or {}).get("median")) for k in COMPARED)
            lines.append(f"| {g['group']} | {', '.join(g['choices']) or 'siloed'} | {cells} |")
        lines.append("")
    for poll in data["polls"]:
        lines += [f"## Poll: {poll['question']} ({poll['votes']} votes)", ""]
        lines += [f"- {o}: {n}" for o, n in zip(poll["options"], poll["counts"], strict=True)]
        lines.append("")
    if data["maturity"]["assessed"]:
        m = data["maturity"]
        lines += [f"## Maturity self-assessment ({m['assessed']} learners)", ""]
        lines += ["| Pillar | Mean level | Lowest | Highest |", "|---|---|---|---|"]
        for p in PILLARS:
            lines.append(f"| {p} | {_num(m['mean'][p])} | {_num(m['low'][p])} | {_num(m['high'][p])} |")
        lines.append("")
    saved = works(service, session)
    roadmaps = [w for w in saved if w["kind"] == "roadmap"]
    if roadmaps:
        lines += [f"## Roadmaps ({len(roadmaps)} saved)", ""]
        for w in roadmaps:
            lines += roadmap_markdown(f"Roadmap of {w['learner']}", w["content"]["actions"], level=3)
    maps = [w for w in saved if w["kind"] == "wardley"]
    if maps:
        lines += [f"## Wardley maps ({len(maps)} saved)", ""]
        for w in maps:
            lines += [f"### Map of {w['learner']}", "", "```owm", w["content"]["text"].rstrip(), "```", ""]
    return "\n".join(lines)


__all__ = ["COMPARED", "PILLARS", "export_json", "export_markdown", "pooled"]
