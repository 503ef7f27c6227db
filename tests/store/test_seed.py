"""Demo data: deterministic (content digest), identical on both backends, sensible."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from callcenter.cli import main
from callcenter.seed import QUEUES, SeedOptions, StoreNotEmpty, demo_agents, seed_store
from callcenter.store.bulk import content_digest
from callcenter.store.engine import make_engine, make_sessionmaker
from callcenter.store.models import Customer
from callcenter.store.screen_pop import load_screen_pop_by_identity
from callcenter.store.users import authenticate
from tests.conftest import sqlite_file_url

SMALL = SeedOptions(customers=60, interactions=300, agents=4, seed=7)


async def digest_of(url: str) -> str:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await content_digest(connection)
    finally:
        await engine.dispose()


async def test_same_seed_gives_the_same_data_and_another_seed_does_not(tmp_path: Path) -> None:
    urls = [sqlite_file_url(tmp_path / f"{name}.db") for name in ("a", "b", "c")]
    first = await seed_store(urls[0], SMALL)
    await seed_store(urls[1], SMALL)
    await seed_store(urls[2], SeedOptions(customers=60, interactions=300, agents=4, seed=8))
    digests = [await digest_of(url) for url in urls]
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]
    assert first.counts["customers"] == 60
    assert first.counts["interactions"] == 300
    assert first.counts["users"] == 4 + 3
    assert first.counts["queues"] == len(QUEUES)


@pytest.mark.postgres
async def test_postgres_gets_exactly_the_sqlite_data(tmp_path: Path, postgres_url: str) -> None:
    sqlite_url = sqlite_file_url(tmp_path / "seed.db")
    await seed_store(sqlite_url, SMALL)
    await seed_store(postgres_url, SMALL)
    assert await digest_of(postgres_url) == await digest_of(sqlite_url)


async def test_a_store_with_data_is_refused_unless_reset(db_url: str) -> None:
    await seed_store(db_url, SMALL)
    before = await digest_of(db_url)
    with pytest.raises(StoreNotEmpty) as caught:
        await seed_store(db_url, SMALL)
    assert caught.value.code == "store.not_empty"
    await seed_store(db_url, SMALL, reset=True)
    assert await digest_of(db_url) == before
    # Ids continue after the seeded ones (PostgreSQL sequences were moved on).
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            session.add(Customer(name="After seed"))
            await session.flush()
            newest = await session.scalar(select(func.max(Customer.id)))
    finally:
        await engine.dispose()
    assert newest == SMALL.customers + 1


async def test_seeded_store_has_every_tier_a_hero_and_working_logins(tmp_path: Path) -> None:
    url = sqlite_file_url(tmp_path / "demo.db")
    summary = await seed_store(url, SeedOptions(customers=800, interactions=2000, agents=6))
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            tiers = dict((await session.execute(
                select(Customer.tier, func.count()).group_by(Customer.tier))).all())
            hero = await load_screen_pop_by_identity(session, "phone", "+86 138 0000 0001")
            login = await authenticate(session, "agent01", "demo")
            wrong = await authenticate(session, "supervisor", "nope")
    finally:
        await engine.dispose()
    assert set(tiers) == {"standard", "silver", "gold", "key", "strategic"}
    assert summary.counts["orders"] > 800 and summary.counts["tickets"] > 0
    customer = hero.customer
    assert (customer.name, customer.tier, customer.key_account) == ("Li Wei", "strategic", True)
    assert customer.account_manager_id == "agent01"
    assert [t.kind for t in hero.tickets] == ["complaint", "complaint"]
    assert len(hero.orders) == 5 and hero.interactions
    assert login is not None and login.agent_id == "agent01"
    assert wrong is None


def test_every_demo_queue_has_agents_with_its_skills() -> None:
    agents = demo_agents(24, seed=1)
    assert [a.id for a in agents][:2] == ["agent01", "agent02"]
    for name, (_, _, config) in QUEUES.items():
        needs = {r["skill"]: r["min_level"] for r in config["required_skills"]}
        able = [a for a in agents if all(a.skills.get(s, 0) >= lvl for s, lvl in needs.items())]
        assert len(able) >= 2, name


def test_bad_seed_sizes_are_refused() -> None:
    for options in (SeedOptions(customers=-1), SeedOptions(agents=0),
                    SeedOptions(interactions=-5)):
        with pytest.raises(Exception, match="must") as caught:
            options.check()
        assert getattr(caught.value, "code", "") == "request.validation"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``callcenter ARGS`` in this process; (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_and_migrate_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_file_url(tmp_path / "cli.db")
    code, out, err = run_cli(capsys, "migrate", "--url", url)
    assert code == 0, err
    assert "upgraded to 0001_initial" in out
    assert run_cli(capsys, "migrate", "--url", url, "--current")[1].strip() == "0001_initial"
    code, out, err = run_cli(capsys, "seed", "--customers", "20", "--agents", "2", "--seed", "3",
                             "--url", url, "--no-progress")
    assert code == 0, err
    assert "customers 20" in out and "interactions 100" in out
    code, _, err = run_cli(capsys, "seed", "--customers", "20", "--url", url)
    assert code == 2
    assert "[store.not_empty]" in err
    code, _, err = run_cli(capsys, "migrate", "--url", url, "--downgrade", "base")
    assert code == 0, err
    assert run_cli(capsys, "migrate", "--url", url, "--current")[1].strip() == "base (empty)"


def test_bad_store_configuration_fails_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run_cli(capsys, "seed", "--url", "sqlite:///plain.db", "--customers", "1")
    assert code == 2
    assert "unsupported driver 'sqlite'" in err
    code, _, err = run_cli(capsys, "migrate", "--url", sqlite_file_url(tmp_path / "x.db"),
                           "--revision", "9999")
    assert code == 2
    assert "[store.migration_failed]" in err
    with pytest.raises(SystemExit):
        run_cli(capsys, "seed", "--anchor", "yesterday")
    assert "not an ISO date" in capsys.readouterr().err
    monkeypatch.setenv("CALLCENTER_STORE_URL", "mysql://root@db/shop")
    code, _, err = run_cli(capsys, "migrate")
    assert code == 2
    assert "[config.invalid]" in err and "store.url" in err
