"""Fixtures of the sync tests: a CA, a fresh database per module (SQLite file or a new PostgreSQL database)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from synctest_helpers import PKI


@pytest.fixture(scope="module")
def module_pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    """A committee CA with a server certificate for 127.0.0.1."""
    return PKI(tmp_path_factory.mktemp("pki"))


def fresh_postgres(pg_dsn: str) -> Iterator[str]:
    """CREATE DATABASE with a random name; yield its URL; DROP it afterwards."""
    import psycopg

    name = f"uk_test_{secrets.token_hex(6)}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(pg_dsn)
    try:
        yield urlunparse(parsed._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty server database of each kind (one per module and backend)."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "server.db"
        yield f"sqlite:///{path}"
    else:
        dsn = request.getfixturevalue("pg_dsn")
        yield from fresh_postgres(dsn)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty server database of each kind for one test (when a test counts rows from zero)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
    else:
        yield from fresh_postgres(request.getfixturevalue("pg_dsn"))
