"""Fixtures of the committee tests: a real tally server over mutual TLS on loopback (SQLite and PostgreSQL), kiosks
with real ledgers that push the seeded day, and the committee's client."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from committee_support import PKI, Desk, Package, Seeded, make_package, seed_day

from kiosk.committee_client import CommitteeClient, CommitteeTLS
from sync.server.runner import EmbeddedServer, ServerTLS, start_embedded

KIOSKS = {"K-E01": "E01", "K-E01b": "E01", "K-D01a": "D01", "K-D01b": "D01", "K-D02": "D02"}


def fresh_postgres(pg_dsn: str) -> Iterator[str]:
    """CREATE DATABASE with a random name; yield its URL; DROP it afterwards."""
    import psycopg

    name = f"uk_committee_{secrets.token_hex(6)}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(pg_dsn)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def committee_pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def package() -> Package:
    return make_package()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'server.db'}"
    else:
        yield from fresh_postgres(request.getfixturevalue("pg_dsn"))


@pytest.fixture(scope="module")
def server(db_url: str, package: Package, committee_pki: PKI) -> Iterator[EmbeddedServer]:
    srv = start_embedded(package, db_url, tls=ServerTLS(committee_pki.server, committee_pki.ca))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def desks(
    server: EmbeddedServer, package: Package, committee_pki: PKI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Desk]]:
    ledgers: Path = tmp_path_factory.mktemp("ledgers")
    made = {k: Desk(committee_pki, k, st, ledgers, server.url, package.package_hash) for k, st in KIOSKS.items()}
    yield made
    for d in made.values():
        d.close()


@pytest.fixture(scope="module")
def seeded(desks: dict[str, Desk]) -> Seeded:
    return seed_day(desks)


@pytest.fixture(scope="module")
def committee(server: EmbeddedServer, committee_pki: PKI, seeded: Seeded) -> Iterator[CommitteeClient]:
    with CommitteeClient(server.url, CommitteeTLS.from_dirs(committee_pki.committee())) as c:
        yield c
