"""`msafiri demo`: realistic, deterministic, batched."""

from __future__ import annotations

import json
from collections import Counter

from click.testing import CliRunner

from domain.cases.aggregate import Migrant
from tui.cli.main import cli
from tui.demo.officers import ensure_demo_officers
from tui.demo.population import populate


def _topics(system) -> Counter:
    notifications = system.store.recorder.select_notifications(start=1, limit=1_000_000)
    return Counter(n.topic.rsplit(":", 1)[1] for n in notifications)


def test_the_same_seed_gives_the_same_population(tmp_path):
    from tui.bootstrap import build_system
    from tui.settings import Settings

    stories = []
    for run in ("a", "b"):
        system = build_system(Settings(database_url=f"sqlite:///{tmp_path / run}.db"))
        populate(system.store, ensure_demo_officers(system), 200, seed=11)
        notifications = system.store.recorder.select_notifications(start=1, limit=100_000)
        stories.append([(n.originator_id, n.originator_version, n.topic) for n in notifications])
        system.close()
    assert stories[0] == stories[1]


def test_the_demo_population_is_plausible(system):
    actors = ensure_demo_officers(system)
    populate(system.store, actors, 600, seed=3)
    topics = _topics(system)
    assert topics["MigrantRegistered"] == 600
    assert topics["Departed"] > 400 and topics["IncidentReported"] > 20
    assert topics["Returned"] > 50 and topics["AssistanceRequested"] > 5
    # Most are women (domestic work dominates), as the seeds describe.
    registered = [
        e
        for n in system.store.recorder.select_notifications(
            start=1, limit=100_000, topics=["domain.cases.events:MigrantRegistered"]
        )
        for e in [system.store.mapper.to_domain_event(n)]
    ]
    women = sum(e.sex == "female" for e in registered)
    assert 0.6 < women / len(registered) < 0.95
    # Every migrant's story went through the real aggregates' guards.
    one = system.store.get(registered[0].originator_id)
    assert isinstance(one, Migrant) and one.version >= 1


def test_the_demo_command_fills_an_empty_database_once(settings, monkeypatch):
    monkeypatch.setenv("MSAFIRI_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    first = runner.invoke(cli, ["demo", "--migrants", "150", "--json"])
    assert first.exit_code == 0, first.output
    result = json.loads(first.output.strip().splitlines()[-1])
    assert result["migrants"] == 150 and result["events"] > 150 * 4
    again = runner.invoke(cli, ["demo", "--migrants", "150", "--json"])
    assert json.loads(again.output.strip().splitlines()[-1])["already_populated"] is True
    more = runner.invoke(cli, ["demo", "--migrants", "50", "--add", "--json"])
    assert json.loads(more.output.strip().splitlines()[-1])["migrants"] == 50
