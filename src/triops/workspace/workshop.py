"""Live strategy workshops: a facilitator opens a session (title, learner level, tools) and gets a join code;
learners join with the code and a display name, answer the scenario assessment with feedback after each
answer, and run the simulation as groups; the pooled results feed the projector and the exports.

Facilitating needs ``workshop.run`` (checked here, so the web pages and any other caller obey the same rule);
only the facilitator who opened a session (or an admin) sees, closes, exports or deletes it. Learners have no
account: a learner is the sha256 of a random browser key plus a display name, and deleting the session
deletes them. Posting the same join or answer twice changes nothing (the first answer stands).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from contextlib import suppress
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from triops.domain.clock import utc_ms
from triops.errors import ConflictError, InvalidInputError, NotFoundError
from triops.governance.rbac import Permission, Role, require
from triops.store.repositories import workshops as repo
from triops.strategy.group_run import GroupSimulation, run_group_simulation

if TYPE_CHECKING:
    from triops.strategy.maturity_model import MaturityModel
    from triops.strategy.scenarios import Feedback, Quiz, QuizResult
    from triops.strategy.simulation import LevelControls
    from triops.workspace.local import Workspace

LEVELS = ("novice", "experienced", "manager")
TOOLS = ("scenarios", "simulation", "maturity", "wardley")
SIM_LEVEL = {"novice": "intro", "experienced": "standard", "manager": "intro"}
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read off a projector
SIM_RUNS = 2000
MAX_NAME = 40


@lru_cache(maxsize=128)
def session_quiz(level: str, seed: int, count: int) -> Quiz:
    """A session's attempt, built once per process: every page and answer of 40 learners reads it, and
    building it (reading the scenario bank) costs tens of milliseconds."""
    from triops.strategy.scenarios import start_quiz

    return start_quiz(level=level, seed=seed, count=count)


@lru_cache(maxsize=4)
def sim_controls(level: str) -> LevelControls:
    """The simulation controls of a level (reading the parameters costs tens of milliseconds per page)."""
    from triops.strategy.simulation import controls

    return controls(level)


@lru_cache(maxsize=1)
def maturity_model() -> MaturityModel:
    from triops.strategy.maturity_model import load_model

    return load_model()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def clean_name(value: str, field: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidInputError(f"{field} must be 1-{MAX_NAME} printable characters")
    return name


def normalise_code(code: str) -> str:
    return "".join(code.split()).upper()[:12]


class WorkshopService:
    """Workshops over one workspace's store; facilitator operations act as ``ws.principal``."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _now(self) -> int:
        return utc_ms(self.ws.clock.now())

    def _require_facilitator(self) -> None:
        """``workshop.run`` held anywhere: a contributor of any project may run a workshop (workshops belong
        to no project)."""
        who = self.ws.principal
        if not any(who.can(Permission.WORKSHOP_RUN, p) for p in [None, *who.roles]):
            require(Permission.WORKSHOP_RUN, who, None)

    # -- facilitator ---------------------------------------------------------------------------------------
    def open(
        self, title: str, level: str, tools: Sequence[str], questions: int = 6, *, prefill: bool = False
    ) -> dict[str, Any]:
        """``prefill`` links the workshop to this workspace: the maturity form starts at the level each
        dimension's evidence in the store shows (needs read access to every project)."""
        self._require_facilitator()
        title = " ".join(title.split())
        if not title or len(title) > 200:
            raise InvalidInputError("title must be 1-200 characters")
        if level not in LEVELS:
            raise InvalidInputError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        unknown = [t for t in tools if t not in TOOLS]
        if unknown or not tools:
            raise InvalidInputError(f"tools must be one or more of {', '.join(TOOLS)}")
        seed = secrets.randbelow(1_000_000)
        available = len(self.ws.strategy.quiz(level=level, seed=seed).questions)
        if not 1 <= questions <= available:
            raise InvalidInputError(f"questions must be between 1 and {available} at level {level}")
        values = {
            "title": title,
            "level": level,
            "tools": [t for t in TOOLS if t in tools],
            "questions": questions,
            "seed": seed,
            "facilitator": self.ws.principal.name,
            "prefill": self._evidence_levels() if prefill and "maturity" in tools else None,
        }
        for _ in range(10):
            row = {**values, "code": "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))}

            def write(conn: Any, row: dict[str, Any] = row) -> dict[str, Any]:
                return repo.create_session(conn, row, self._now())

            try:
                return self.ws.store.write(write)
            except IntegrityError:  # a code in use: draw another
                continue
        raise ConflictError("could not draw a free join code; try again")

    def _evidence_levels(self) -> dict[str, int]:
        require(Permission.PROJECT_READ, self.ws.principal, None)
        evidence = self.ws.strategy.evidence()
        return {d.id: d.evidence_level(evidence) for d in maturity_model().dimensions}

    def sessions(self) -> list[dict[str, Any]]:
        self._require_facilitator()
        mine = None if self.ws.principal.has_role(Role.ADMIN, None) else self.ws.principal.name
        with self.ws.store.connect() as conn:
            return repo.list_sessions(conn, mine)

    def facilitated(self, code: str) -> dict[str, Any]:
        """The session ``code`` if this principal runs it (404 otherwise, so codes are not probed)."""
        self._require_facilitator()
        session = self.find(code)
        if session is None or (
            session["facilitator"] != self.ws.principal.name
            and not self.ws.principal.has_role(Role.ADMIN, None)
        ):
            raise NotFoundError(f"no workshop with code {normalise_code(code)!r} that you facilitate")
        return session

    def close(self, code: str) -> None:
        session = self.facilitated(code)
        self.ws.store.write(lambda conn: repo.close_session(conn, session["id"], self._now()))

    def delete(self, code: str) -> None:
        session = self.facilitated(code)
        self.ws.store.write(lambda conn: repo.delete_session(conn, session["id"]))

    # -- learners ------------------------------------------------------------------------------------------
    def find(self, code: str) -> dict[str, Any] | None:
        with self.ws.store.connect() as conn:
            return repo.find_session(conn, normalise_code(code))

    def open_session(self, code: str) -> dict[str, Any]:
        """The session a learner may post to: it exists and has not closed."""
        session = self.find(code)
        if session is None:
            raise NotFoundError(
                f"no workshop with code {normalise_code(code)!r}", hint="check the code on the projector"
            )
        if session["closed_ms"] is not None:
            raise ConflictError(f"workshop {session['code']} has closed", hint="ask the facilitator")
        return session

    def join(self, code: str, display_name: str, key: str) -> dict[str, Any]:
        """The learner ``key`` names in session ``code``: joining again with the same key is the same
        learner; another key with a name already taken is refused."""
        session = self.open_session(code)
        name = clean_name(display_name, "display name")
        if not 20 <= len(key) <= 100:
            raise InvalidInputError("join key is missing; reload the join page")
        hashed = key_hash(key)

        def write(conn: Any) -> dict[str, Any]:
            found = repo.find_learner(conn, hashed)
            if found is not None:
                if found["session_id"] != session["id"]:
                    raise ConflictError("this browser already joined another workshop; reload the join page")
                return found
            if repo.learner_named(conn, session["id"], name) is not None:
                raise ConflictError(f"the name {name!r} is taken in this workshop", hint="pick another name")
            values = {
                "session_id": session["id"],
                "key_hash": hashed,
                "csrf": secrets.token_urlsafe(24),
                "display_name": name,
            }
            return repo.add_learner(conn, values, self._now())

        try:
            return self.ws.store.write(write)
        except IntegrityError:  # the same join posted twice at once: the other request made the learner
            with self.ws.store.connect() as conn:
                found = repo.find_learner(conn, hashed)
            if found is None:
                raise ConflictError(f"the name {name!r} is taken in this workshop") from None
            return found

    def learner(self, code: str, key: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(session, learner or None when this browser has not joined it)."""
        session = self.find(code)
        if session is None:
            raise NotFoundError(f"no workshop with code {normalise_code(code)!r}")
        if not key:
            return session, None
        with self.ws.store.connect() as conn:
            found = repo.find_learner(conn, key_hash(key))
        return session, found if found is not None and found["session_id"] == session["id"] else None

    def quiz(self, session: dict[str, Any]) -> Quiz:
        """Every learner of a session gets the same questions in the same order, so answers pool."""
        return session_quiz(str(session["level"]), int(session["seed"]), int(session["questions"]))

    def grade(self, session: dict[str, Any], answers: dict[str, str]) -> QuizResult:
        from triops.strategy.scenarios import grade

        return grade(self.quiz(session), answers)

    def answers_of(self, learner: dict[str, Any]) -> dict[str, str]:
        with self.ws.store.connect() as conn:
            return repo.learner_answers(conn, learner["id"])

    def answer(self, code: str, learner: dict[str, Any], scenario_id: str, letter: str) -> Feedback:
        session = self.open_session(code)
        quiz = self.quiz(session)
        feedback = quiz.answer(scenario_id, letter)  # names a wrong scenario or letter
        values = {
            "learner_id": learner["id"],
            "scenario_id": scenario_id,
            "session_id": session["id"],
            "letter": feedback.letter,
            "score": feedback.score,
            "best_score": feedback.best_score,
        }

        def write(conn: Any) -> str:
            first = repo.find_answer(conn, learner["id"], scenario_id)
            if first is None:
                repo.add_answer(conn, values, self._now())
                return feedback.letter
            return str(first["letter"])

        try:
            stored = self.ws.store.write(write)
        except IntegrityError:
            with self.ws.store.connect() as conn:
                stored = str((repo.find_answer(conn, learner["id"], scenario_id) or values)["letter"])
        return feedback if stored == feedback.letter else quiz.answer(scenario_id, stored)

    def plan_simulation(
        self, code: str, learner: dict[str, Any], group: str, choices: Sequence[str]
    ) -> GroupSimulation:
        """The group's simulation request, checked (open session, group name, choices of its level)."""
        session = self.open_session(code)
        group = clean_name(group, "group")
        level = SIM_LEVEL[session["level"]]
        ctl = sim_controls(level)
        allowed = {n for n, _ in (ctl.levers if level == "intro" else ctl.practices)}
        unknown = sorted(set(choices) - allowed)
        if unknown:
            raise InvalidInputError(f"unknown choice {unknown[0]!r}", hint="pick from the form's boxes")
        picked = tuple(sorted(set(choices)))
        seed = int(session["seed"])
        return GroupSimulation(
            session["code"], session["id"], learner["id"], group, level, seed, SIM_RUNS, picked
        )

    def save_simulation(self, plan: GroupSimulation, outcome: dict[str, Any]) -> dict[str, Any]:
        """Store the group's run (its latest is what the projector compares) and answer what the learner
        sees."""
        values = {
            "session_id": plan.session_id,
            "group_name": plan.group,
            "run_by": plan.learner_id,
            "choices": list(plan.choices),
            "outcome": outcome,
        }

        def write(conn: Any) -> None:
            # the workshop may have closed or gone while the group's run computed: store nothing then
            session = repo.find_session(conn, plan.code)
            if session is None or session["id"] != plan.session_id:
                raise NotFoundError(f"no workshop with code {plan.code!r}", hint="it was deleted")
            if session["closed_ms"] is not None:
                raise ConflictError(f"workshop {plan.code} has closed", hint="ask the facilitator")
            repo.save_group_run(conn, values, self._now())

        self.ws.store.write(write)
        return {"group": plan.group, "choices": list(plan.choices), **outcome}

    def simulate(
        self, code: str, learner: dict[str, Any], group: str, choices: Sequence[str]
    ) -> dict[str, Any]:
        """Run the group's mix at the session's simulation level beside the siloed baseline, here (a server
        runs :func:`run_group_simulation` in its simulation pool between the other two steps)."""
        plan = self.plan_simulation(code, learner, group, choices)
        return self.save_simulation(plan, run_group_simulation(plan))

    def assess(self, code: str, learner: dict[str, Any], answers: dict[str, int]) -> tuple[Any, Any]:
        """The learner's maturity self-assessment (no store evidence: a workshop is not a workspace's
        record) and its 30-60-90-day roadmap; the latest one per learner pools on the projector."""
        session = self.open_session(code)
        if "maturity" not in session["tools"]:
            raise InvalidInputError("this workshop has no maturity self-assessment")
        result = self.ws.strategy.assess_maturity(answers, from_store=False, save=False)
        roadmap = self.ws.strategy.roadmap(result)
        values = {
            "learner_id": learner["id"],
            "session_id": session["id"],
            "answers": dict(answers),
            "pillars": {p.pillar: p.level for p in result.pillars},
        }
        self.ws.store.write(lambda conn: repo.save_maturity(conn, values, self._now()))
        return result, roadmap

    def open_poll(self, code: str, question: str, options: Sequence[str]) -> str:
        """A quick poll the learners answer from their page; the newest poll is the one they see."""
        session = self.facilitated(code)
        if session["closed_ms"] is not None:
            raise ConflictError(f"workshop {session['code']} has closed")
        question = " ".join(question.split())
        if not question or len(question) > 300:
            raise InvalidInputError("question must be 1-300 characters")
        cleaned = [" ".join(o.split())[:100] for o in options if o.strip()]
        if not 2 <= len(cleaned) <= 6:
            raise InvalidInputError("options: give 2-6 options, one a line")
        now = self._now()
        return self.ws.store.write(lambda conn: repo.add_poll(conn, session["id"], question, cleaned, now))

    def polls(self, session: dict[str, Any]) -> list[dict[str, Any]]:
        with self.ws.store.connect() as conn:
            return repo.polls(conn, session["id"])

    def vote(self, code: str, learner: dict[str, Any], poll_id: str, choice: int) -> None:
        """The learner's vote; voting again (or a double click) keeps the first vote."""
        session = self.open_session(code)
        poll = next((p for p in self.polls(session) if p["id"] == poll_id), None)
        if poll is None:
            raise NotFoundError(f"no poll {poll_id!r} in workshop {session['code']}")
        if not 0 <= choice < len(poll["options"]):
            raise InvalidInputError(f"choice must be 0-{len(poll['options']) - 1}")
        values = {
            "poll_id": poll_id,
            "learner_id": learner["id"],
            "session_id": session["id"],
            "choice": choice,
        }
        with suppress(IntegrityError):  # the same vote posted twice at once: the first stands
            self.ws.store.write(lambda conn: repo.add_vote(conn, values, self._now()))

    def sim_level(self, session: dict[str, Any]) -> str:
        return SIM_LEVEL[str(session["level"])]


__all__ = [
    "LEVELS",
    "TOOLS",
    "WorkshopService",
    "clean_name",
    "key_hash",
    "maturity_model",
    "normalise_code",
    "sim_controls",
]
