"""The live workshop over HTTP against a real server: who may facilitate, joining by code (idempotent,
unknown and closed codes), answers with feedback (the first answer stands), group simulation, the pooled
results, CSRF on every form, export and delete."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from tests.server.web.workshop_fixtures import (
    WorkshopServer,
    client,
    csrf_of,
    join,
    login,
    open_workshop,
    workshop_web,
)

from triops.governance.rbac import Principal
from triops.store.schema import metadata
from triops.workspace.workshop import WorkshopService

pytestmark = pytest.mark.xdist_group("web-workshop")
__all__ = ["workshop_web"]


def _count(server: WorkshopServer, table: str) -> int:
    with server.ws.store.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[table])).scalar() or 0)


def _question(html: str) -> tuple[str, list[str]]:
    scenario = re.search(r'name="scenario_id" value="([^"]+)"', html)
    assert scenario is not None, html[:800]
    return scenario.group(1), re.findall(r'name="letter" value="([a-h])"', html)


def test_only_facilitators_open_workshops_and_see_only_their_own(workshop_web: WorkshopServer) -> None:
    viewer = login(workshop_web.url, workshop_web.bob)
    refused = viewer.get("/workshops")
    assert refused.status_code == 403 and "workshop.run" in refused.text
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol, "Carol's session")
    assert re.fullmatch(r"[A-Z2-9]{6}", code)
    console = carol.get(f"/workshops/{code}")
    assert console.status_code == 200 and code in console.text and f"/w?code={code}" in console.text
    dan = login(workshop_web.url, workshop_web.dan)
    assert dan.get(f"/workshops/{code}").status_code == 404  # another facilitator's session is not shown
    assert dan.get(f"/workshops/{code}/export.json").status_code == 404
    assert code not in dan.get("/workshops").text


def test_open_names_the_bad_field(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    page = carol.get("/workshops")
    bad = carol.post(
        "/workshops",
        data={"csrf": csrf_of(page.text), "title": "x", "level": "wizard", "tool_scenarios": "1"},
    )
    assert bad.status_code == 422 and "level must be one of" in bad.text
    none = carol.post("/workshops", data={"csrf": csrf_of(page.text), "title": "x", "level": "novice"})
    assert none.status_code == 422 and "tools" in none.text


def test_join_is_idempotent_and_names_are_unique(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol)
    before = _count(workshop_web, "workshop_learners")
    learner = client(workshop_web.url)
    page = learner.get(f"/w?code={code.lower()}")
    form = {
        "csrf": csrf_of(page.text),
        "key": csrf_of(page.text, "key"),
        "code": code.lower(),
        "name": " Ada  ",
    }
    first = learner.post("/w/join", data=form)
    second = learner.post("/w/join", data=form)  # a double click: the same learner, no second row
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == f"/w/{code}"
    cookie = first.headers["set-cookie"]
    assert "triops_learner=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert _count(workshop_web, "workshop_learners") == before + 1
    other = client(workshop_web.url)
    page = other.get(f"/w?code={code}")
    taken = other.post(
        "/w/join",
        data={"csrf": csrf_of(page.text), "key": csrf_of(page.text, "key"), "code": code, "name": "Ada"},
    )
    assert taken.status_code == 409 and "taken" in taken.text
    assert _count(workshop_web, "workshop_learners") == before + 1


def test_unknown_and_closed_codes_answer_with_a_clear_page(workshop_web: WorkshopServer) -> None:
    learner = client(workshop_web.url)
    page = learner.get("/w")
    form = {"csrf": csrf_of(page.text), "key": csrf_of(page.text, "key"), "code": "ZZZZZZ", "name": "Bea"}
    missing = learner.post("/w/join", data=form)
    assert missing.status_code == 404 and "no workshop with code" in missing.text and "ZZZZZZ" in missing.text
    assert learner.get("/w/ZZZZZZ").status_code == 404
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol)
    bea, csrf = join(workshop_web.url, code, "Bea")
    scenario, letters = _question(bea.get(f"/w/{code}").text)
    console = carol.get(f"/workshops/{code}")
    assert carol.post(f"/workshops/{code}/close", data={"csrf": csrf_of(console.text)}).status_code == 303
    page = learner.get(f"/w?code={code}")
    late = learner.post(
        "/w/join",
        data={"csrf": csrf_of(page.text), "key": csrf_of(page.text, "key"), "code": code, "name": "Cy"},
    )
    assert late.status_code == 409 and "has closed" in late.text
    home = bea.get(f"/w/{code}")
    assert home.status_code == 200 and "has closed" in home.text
    refused = bea.post(
        f"/w/{code}/answer", data={"csrf": csrf, "scenario_id": scenario, "letter": letters[0]}
    )
    assert refused.status_code == 409 and _answers_of(workshop_web, code) == []


def test_answers_give_feedback_pool_on_the_projector_and_the_first_answer_stands(
    workshop_web: WorkshopServer,
) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol)
    ada, csrf = join(workshop_web.url, code, "Ada")
    scenario, letters = _question(ada.get(f"/w/{code}").text)
    posted = {"csrf": csrf, "scenario_id": scenario, "letter": letters[0]}
    first = ada.post(f"/w/{code}/answer", data=posted)
    again = ada.post(f"/w/{code}/answer", data={**posted, "letter": letters[1]})  # a changed mind is ignored
    assert first.status_code == again.status_code == 303
    feedback = ada.get(first.headers["location"].split("#")[0]).text
    assert f"you chose {letters[0]}" in feedback and "points" in feedback
    results = carol.get(f"/workshops/{code}/results.json").json()
    pooled = next(s for s in results["scenarios"] if s["scenario_id"] == scenario)
    assert pooled["answered"] == 1 and pooled["counts"][letters[0]] == 1 and pooled["counts"][letters[1]] == 0
    assert results["learners"] == 1 and results["answers"] == 1
    bad = ada.post(f"/w/{code}/answer", data={**posted, "scenario_id": "no-such-scenario"})
    assert bad.status_code == 422
    projector = carol.get(f"/workshops/{code}/projector")
    assert projector.status_code == 200 and '<script src="/static/workshop.js"' in projector.text
    assert carol.get(f"/workshops/{code}/projector?part=live").text.count("<progress") >= len(letters)


def test_groups_simulate_and_the_projector_compares_them(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol)
    ada, csrf = join(workshop_web.url, code, "Ada")
    home = ada.get(f"/w/{code}").text
    levers = re.findall(r'name="choice" value="([a-z_]+)"', home)
    assert levers, "the intro level offers levers"
    one = ada.post(f"/w/{code}/simulate", data={"csrf": csrf, "group": "Red", "choice": levers})
    assert one.status_code == 200 and "<svg" in one.text and "siloed baseline" in one.text
    two = ada.post(f"/w/{code}/simulate", data={"csrf": csrf, "group": "Blue"})
    assert two.status_code == 200
    bad = ada.post(f"/w/{code}/simulate", data={"csrf": csrf, "group": "Red", "choice": "teleport"})
    assert bad.status_code == 422 and "teleport" in bad.text
    groups = carol.get(f"/workshops/{code}/results.json").json()["groups"]
    assert [g["group"] for g in groups] == ["Blue", "Red"]
    blue, red = groups
    assert red["choices"] == sorted(levers) and blue["choices"] == []
    # Blue chose nothing: its outcome is the siloed baseline itself; Red's differs from it
    assert blue["mix"]["net_value"] == blue["baseline"]["net_value"]
    assert red["mix"]["net_value"] != red["baseline"]["net_value"]
    live = carol.get(f"/workshops/{code}/projector?part=live").text
    assert 'id="groups"' in live and "Red" in live and "Blue" in live and "<svg" in live


def test_every_form_needs_its_csrf_token(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol)
    ada, _ = join(workshop_web.url, code, "Ada")
    scenario, letters = _question(ada.get(f"/w/{code}").text)
    assert (
        ada.post(f"/w/{code}/answer", data={"scenario_id": scenario, "letter": letters[0]}).status_code == 403
    )
    stale = {"csrf": "stale", "scenario_id": scenario, "letter": letters[0]}
    assert ada.post(f"/w/{code}/answer", data=stale).status_code == 403
    assert ada.post(f"/w/{code}/simulate", data={"group": "Red"}).status_code == 403
    assert _answers_of(workshop_web, code) == []
    stranger = client(workshop_web.url)  # no join-form cookie: the join is refused
    refused = stranger.post("/w/join", data={"csrf": "x", "key": "k" * 30, "code": code, "name": "Eve"})
    assert refused.status_code == 403
    assert carol.post(f"/workshops/{code}/close", data={}).status_code == 403
    assert carol.post(f"/workshops/{code}/delete", data={"confirm": code}).status_code == 403
    assert (
        carol.post("/workshops", data={"title": "x", "level": "novice", "tool_scenarios": "1"}).status_code
        == 403
    )


def _answers_of(server: WorkshopServer, code: str) -> list[object]:
    sessions, answers = metadata.tables["workshop_sessions"], metadata.tables["workshop_answers"]
    with server.ws.store.connect() as conn:
        sid = conn.execute(sa.select(sessions.c.id).where(sessions.c.code == code)).scalar_one()
        return list(conn.execute(sa.select(answers).where(answers.c.session_id == sid)))


def _works(server: WorkshopServer, code: str) -> int:
    sessions, works = metadata.tables["workshop_sessions"], metadata.tables["workshop_works"]
    with server.ws.store.connect() as conn:
        sid = conn.execute(sa.select(sessions.c.id).where(sessions.c.code == code)).scalar_one()
        return len(conn.execute(sa.select(works).where(works.c.session_id == sid)).all())


def test_export_and_delete(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol, "Export me")
    ada, csrf = join(workshop_web.url, code, "Ada")
    scenario, letters = _question(ada.get(f"/w/{code}").text)
    ada.post(f"/w/{code}/answer", data={"csrf": csrf, "scenario_id": scenario, "letter": letters[0]})
    ada.post(f"/w/{code}/simulate", data={"csrf": csrf, "group": "Red"})
    exported = carol.get(f"/workshops/{code}/export.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    data = exported.json()
    assert data["workshop"]["title"] == "Export me" and data["learners"] == ["Ada"]
    assert data["results"]["answers"] == 1 and data["results"]["groups"][0]["group"] == "Red"
    markdown = carol.get(f"/workshops/{code}/export.md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert (
        markdown.text.startswith("# Workshop: Export me")
        and "| Ada | " in markdown.text
        and "| Red |" in markdown.text
    )
    console = carol.get(f"/workshops/{code}")
    wrong = carol.post(f"/workshops/{code}/delete", data={"csrf": csrf_of(console.text), "confirm": "NOPE"})
    assert wrong.status_code == 422 and "confirm" in wrong.text
    done = carol.post(f"/workshops/{code}/delete", data={"csrf": csrf_of(console.text), "confirm": code})
    assert done.status_code == 303
    assert carol.get(f"/workshops/{code}").status_code == 404
    assert ada.get(f"/w/{code}").status_code == 404
    sessions = metadata.tables["workshop_sessions"]
    with workshop_web.ws.store.connect() as conn:
        assert conn.execute(sa.select(sessions).where(sessions.c.code == code)).first() is None
        for table in ("workshop_learners", "workshop_answers", "workshop_group_runs", "workshop_works"):
            t = metadata.tables[table]
            rows = conn.execute(sa.select(t).where(t.c.session_id.notin_(sa.select(sessions.c.id)))).all()
            assert rows == [], table  # nothing of the deleted session is left


def test_maturity_self_assessment_gives_a_radar_and_a_roadmap_and_pools(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol, "Maturity", tool_maturity="1")
    ada, csrf = join(workshop_web.url, code, "Ada")
    home = ada.get(f"/w/{code}").text
    fields = re.findall(r'<select id="dim-[^"]+" name="(dim_[a-z_]+)"', home)
    assert len(fields) >= 10
    form = {"csrf": csrf, **dict.fromkeys(fields, "1")}
    missing = ada.post(f"/w/{code}/maturity", data={**form, fields[0]: "9"})
    assert missing.status_code == 422 and fields[0] in missing.text
    done = ada.post(f"/w/{code}/maturity", data={**form, fields[0]: "3"})
    assert done.status_code == 200 and 'class="chart radar"' in done.text
    assert 'id="roadmap-30"' in done.text and 'id="roadmap-90"' in done.text
    again = ada.post(f"/w/{code}/maturity", data=form)  # a retake replaces the earlier one
    assert again.status_code == 200
    pooled = carol.get(f"/workshops/{code}/results.json").json()["maturity"]
    assert pooled["assessed"] == 1 and pooled["mean"]["dataops"] == 1.0
    live = carol.get(f"/workshops/{code}/projector?part=live").text
    assert 'id="maturity-pooled"' in live and "radar" in live
    assert "## Maturity self-assessment (1 learners)" in carol.get(f"/workshops/{code}/export.md").text
    assert ada.post(f"/w/{code}/maturity", data={**form, "csrf": "stale"}).status_code == 403


def test_wardley_editor_draws_the_text_and_names_its_problems(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol, "Maps", tool_wardley="1")
    ada, csrf = join(workshop_web.url, code, "Ada")
    assert f'href="/w/{code}/wardley"' in ada.get(f"/w/{code}").text
    editor = ada.get(f"/w/{code}/wardley")
    assert editor.status_code == 200 and "<textarea" in editor.text and "<svg" in editor.text
    text = "title Tea\ncomponent Cup [0.7, 0.3]\ncomponent Water [0.4, 0.9]\nCup->Water\n"
    drawn = ada.post(f"/w/{code}/wardley?part=preview", data={"csrf": csrf, "text": text})
    assert drawn.status_code == 200 and "<svg" in drawn.text and ">Water<" in drawn.text
    broken = ada.post(
        f"/w/{code}/wardley?part=preview", data={"csrf": csrf, "text": "component Cup [2, x]\n"}
    )
    assert broken.status_code == 200 and "cannot be drawn" in broken.text and "line 1" in broken.text
    assert "<svg" not in broken.text
    assert ada.post(f"/w/{code}/wardley", data={"text": text}).status_code == 403
    # a map that cannot be drawn is not saved; one that can is kept, reopened, projected and exported
    refused = ada.post(f"/w/{code}/wardley?part=save", data={"csrf": csrf, "text": "component Cup [2, x]\n"})
    assert refused.status_code == 422 and "not saved" in refused.text
    saved = ada.post(f"/w/{code}/wardley?part=save", data={"csrf": csrf, "text": text})
    assert saved.status_code == 200 and "Saved." in saved.text
    assert "component Water [0.4, 0.9]" in ada.get(f"/w/{code}/wardley").text
    shown = carol.get(f"/workshops/{code}/work").text
    assert "Wardley map of Ada" in shown and "<svg" in shown and ">Water<" in shown
    assert "```owm\ntitle Tea" in carol.get(f"/workshops/{code}/export.md").text
    stranger = client(workshop_web.url)
    assert stranger.get(f"/w/{code}/wardley").status_code == 303  # not joined: to the join page
    other = open_workshop(carol, "No maps")
    assert ada.get(f"/w/{other}/wardley").status_code == 303
    sessions, works = metadata.tables["workshop_sessions"], metadata.tables["workshop_works"]
    with workshop_web.ws.store.connect() as conn:
        sid = conn.execute(sa.select(sessions.c.id).where(sessions.c.code == code)).scalar_one()
    assert _works(workshop_web, code) == 1
    console = carol.get(f"/workshops/{code}")
    carol.post(f"/workshops/{code}/delete", data={"csrf": csrf_of(console.text), "confirm": code})
    with workshop_web.ws.store.connect() as conn:  # deleted with the session
        assert conn.execute(sa.select(works).where(works.c.session_id == sid)).all() == []


def test_the_roadmap_is_edited_and_downloaded_as_markdown(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol, "Roadmaps", tool_maturity="1")
    ada, csrf = join(workshop_web.url, code, "Ada")
    fields = re.findall(r'<select id="dim-[^"]+" name="(dim_[a-z_]+)"', ada.get(f"/w/{code}").text)
    page = ada.post(f"/w/{code}/maturity", data={"csrf": csrf, **dict.fromkeys(fields, "1")}).text
    count = int(re.search(r'name="count" value="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert count >= 2
    titles = [re.search(rf'name="title_{i}" value="([^"]+)"', page).group(1) for i in (1, 2)]  # type: ignore[union-attr]
    form = {"csrf": csrf, "count": str(count)}
    for i in range(1, count + 1):
        form |= {f"title_{i}": f"t{i}", f"phase_{i}": "90", f"owner_{i}": "x", f"done_{i}": "y"}
    form |= {
        "title_1": titles[0],
        "phase_1": "later",
        "owner_1": "Chief data officer",
        "done_1": "signed off",
    }
    form |= {"title_2": titles[1], "phase_2": "drop"}
    got = ada.post(f"/w/{code}/roadmap.md", data=form)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/markdown")
    later = got.text.split("## Later")[1]
    assert f"**{titles[0]}** — owner: Chief data officer; done when: signed off" in later
    assert titles[1] not in got.text  # dropped
    bad = ada.post(f"/w/{code}/roadmap.md", data={**form, "phase_3": "tomorrow"})
    assert bad.status_code == 422 and "phase_3" in bad.text
    assert ada.post(f"/w/{code}/roadmap.md", data={**form, "csrf": "stale"}).status_code == 403
    # saved with the session: shown again for more edits, projected, exported; a second save replaces it
    assert ada.post(f"/w/{code}/roadmap", data={**form, "csrf": "stale"}).status_code == 403
    assert _works(workshop_web, code) == 0
    saved = ada.post(f"/w/{code}/roadmap", data=form)
    assert saved.status_code == 303 and saved.headers["location"] == f"/w/{code}/roadmap?saved=1"
    mine = ada.get(saved.headers["location"]).text
    assert "Saved." in mine and titles[1] not in mine
    assert re.search(r'name="owner_\d+" value="Chief data officer"', mine)
    assert f'href="/w/{code}/roadmap"' in ada.get(f"/w/{code}").text
    assert ada.post(f"/w/{code}/roadmap", data=form).status_code == 303
    assert _works(workshop_web, code) == 1
    live = carol.get(f"/workshops/{code}/projector?part=live").text
    assert "Ada: 30-60-90-day roadmap" in live and f"/workshops/{code}/work?learner=Ada" in live
    shown = carol.get(f"/workshops/{code}/work?learner=Ada").text
    assert "Roadmap of Ada" in shown and "Chief data officer" in shown
    assert "### Roadmap of Ada" in carol.get(f"/workshops/{code}/export.md").text
    [work] = carol.get(f"/workshops/{code}/export.json").json()["works"]
    assert work["learner"] == "Ada" and work["kind"] == "roadmap"
    assert {
        "phase": "later",
        "title": titles[0],
        "owner": "Chief data officer",
        "done": "signed off",
    } in work["content"]["actions"]


def test_a_linked_workshop_prefills_the_maturity_form_with_store_evidence(
    workshop_web: WorkshopServer,
) -> None:
    carol = login(workshop_web.url, workshop_web.carol)  # contributor in one project: cannot read them all
    page = carol.get("/workshops")
    form = {
        "csrf": csrf_of(page.text),
        "title": "Linked",
        "level": "novice",
        "tool_maturity": "1",
        "prefill": "1",
    }
    refused = carol.post("/workshops", data=form)
    assert refused.status_code == 403 and "project.read" in refused.text
    root = workshop_web.ws.acting_as(Principal.owner("root"))
    session = WorkshopService(root).open("Linked", "novice", ["maturity"], prefill=True)
    evidence = root.strategy.evidence()
    expected = {d.id: d.evidence_level(evidence) for d in root.strategy.maturity_model().dimensions}
    assert session["prefill"] == expected
    ada, _ = join(workshop_web.url, session["code"], "Ada")
    home = ada.get(f"/w/{session['code']}").text
    dim, level = next(iter(expected.items()))
    select = home.split(f'name="dim_{dim}"')[1].split("</select>")[0]
    assert f'<option value="{level}" selected>' in select
    assert f"The workspace's records show level {level}." in home


def test_a_quick_poll_counts_one_vote_per_learner(workshop_web: WorkshopServer) -> None:
    carol = login(workshop_web.url, workshop_web.carol)
    code = open_workshop(carol, "Poll")
    ada, ada_csrf = join(workshop_web.url, code, "Ada")
    bea, bea_csrf = join(workshop_web.url, code, "Bea")
    console = carol.get(f"/workshops/{code}")
    bad = carol.post(
        f"/workshops/{code}/polls", data={"csrf": csrf_of(console.text), "question": "Q?", "options": "one"}
    )
    assert bad.status_code == 422 and "options" in bad.text
    asked = carol.post(
        f"/workshops/{code}/polls",
        data={"csrf": csrf_of(console.text), "question": "Ready to start?", "options": "Yes\nNot yet\n\n"},
    )
    assert asked.status_code == 303
    home = ada.get(f"/w/{code}").text
    poll_id = re.search(r'name="poll_id" value="([^"]+)"', home).group(1)  # type: ignore[union-attr]
    assert "Ready to start?" in home
    for _ in range(2):  # a double click counts once
        assert (
            ada.post(
                f"/w/{code}/vote", data={"csrf": ada_csrf, "poll_id": poll_id, "choice": "0"}
            ).status_code
            == 303
        )
    assert (
        ada.post(f"/w/{code}/vote", data={"csrf": ada_csrf, "poll_id": poll_id, "choice": "1"}).status_code
        == 303
    )
    assert (
        bea.post(f"/w/{code}/vote", data={"csrf": bea_csrf, "poll_id": poll_id, "choice": "1"}).status_code
        == 303
    )
    assert (
        bea.post(f"/w/{code}/vote", data={"csrf": bea_csrf, "poll_id": poll_id, "choice": "7"}).status_code
        == 422
    )
    assert bea.post(f"/w/{code}/vote", data={"poll_id": poll_id, "choice": "1"}).status_code == 403
    assert "You voted <strong>Yes</strong>" in ada.get(f"/w/{code}").text
    poll = carol.get(f"/workshops/{code}/results.json").json()["polls"][0]
    assert poll["options"] == ["Yes", "Not yet"] and poll["counts"] == [1, 1] and poll["votes"] == 2
    assert 'id="poll-results"' in carol.get(f"/workshops/{code}/projector?part=live").text
    assert "## Poll: Ready to start? (2 votes)" in carol.get(f"/workshops/{code}/export.md").text
