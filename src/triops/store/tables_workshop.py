"""Live strategy workshops: a session a facilitator opens, the learners who join it by code, their scenario
answers and the groups' simulation outcomes.

A learner is a display name and the sha256 of a random key held in the learner's browser cookie — no account,
nothing else about the person. Deleting a session deletes every row that belongs to it.
"""

from __future__ import annotations

import sqlalchemy as sa

from triops.store.metadata import metadata

ID = sa.String(36)
NAME = sa.String(250)

workshop_sessions = sa.Table(
    "workshop_sessions",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("code", sa.String(12), nullable=False, unique=True),
    sa.Column("title", NAME, nullable=False),
    sa.Column("level", sa.String(20), nullable=False),
    sa.Column("tools", sa.String(200), nullable=False),
    sa.Column("questions", sa.Integer, nullable=False),
    sa.Column("prefill", sa.JSON),  # maturity level per dimension the workspace's records show, when linked
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("facilitator", NAME, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("closed_ms", sa.BigInteger),
)

workshop_learners = sa.Table(
    "workshop_learners",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("session_id", ID, nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("display_name", sa.String(60), nullable=False),
    sa.Column("joined_ms", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("session_id", "display_name", name="uq_workshop_learners_name"),
)

workshop_answers = sa.Table(
    "workshop_answers",
    metadata,
    sa.Column("learner_id", ID, primary_key=True),
    sa.Column("scenario_id", sa.String(100), primary_key=True),
    sa.Column("session_id", ID, nullable=False),
    sa.Column("letter", sa.String(2), nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("best_score", sa.Integer, nullable=False),
    sa.Column("answered_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_workshop_answers_session", "session_id"),
)

workshop_group_runs = sa.Table(
    "workshop_group_runs",
    metadata,
    sa.Column("session_id", ID, primary_key=True),
    sa.Column("group_name", sa.String(60), primary_key=True),
    sa.Column("run_by", ID, nullable=False),
    sa.Column("choices", sa.JSON, nullable=False),
    sa.Column("outcome", sa.JSON, nullable=False),
    sa.Column("ran_ms", sa.BigInteger, nullable=False),
)

workshop_maturity = sa.Table(
    "workshop_maturity",
    metadata,
    sa.Column("learner_id", ID, primary_key=True),
    sa.Column("session_id", ID, nullable=False),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("pillars", sa.JSON, nullable=False),
    sa.Column("assessed_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_workshop_maturity_session", "session_id"),
)

workshop_polls = sa.Table(
    "workshop_polls",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("session_id", ID, nullable=False),
    sa.Column("question", sa.String(300), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("opened_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_workshop_polls_session", "session_id"),
)

workshop_votes = sa.Table(
    "workshop_votes",
    metadata,
    sa.Column("poll_id", ID, primary_key=True),
    sa.Column("learner_id", ID, primary_key=True),
    sa.Column("session_id", ID, nullable=False),
    sa.Column("choice", sa.Integer, nullable=False),
    sa.Column("voted_ms", sa.BigInteger, nullable=False),
)

workshop_works = sa.Table(
    "workshop_works",
    metadata,
    sa.Column("learner_id", ID, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),  # roadmap (edited 30-60-90 actions) | wardley (OWM)
    sa.Column("session_id", ID, nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("saved_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_workshop_works_session", "session_id"),
)
