"""What several bench scripts share: a minimal election package for the server, and a throw-away PostgreSQL database.

Imported by the scripts as ``bench.benchlib`` after they put the checkout on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse, urlunparse

from ballots.model import ElectionDefinition

__all__ = ["BenchPackage", "bench_definition", "fresh_postgres"]


def bench_definition(stations: int = 1) -> ElectionDefinition:
    """One election (衆議院小選挙区, early voting from 2026-12-02) and ``stations`` early-voting stations E01…."""
    return ElectionDefinition.from_toml_dict(
        {
            "election_day": "2026-12-13",
            "municipality": {"code": "139999", "name": "架空市", "prefecture": "東京都"},
            "elections": [
                {
                    "id": "shu-sho",
                    "kind": "国",
                    "name": "衆議院小選挙区選出議員選挙",
                    "order": 1,
                    "early_voting_start": "2026-12-02",
                }
            ],
            "precincts": [{"code": "001", "name": "第1投票区"}],
            "stations": [
                {"id": f"E{i:02d}", "name": f"期日前投票所{i}", "kind": "early"} for i in range(1, stations + 1)
            ],
            "staff": [{"id": "c01", "name": "係員 一", "role": "clerk", "pin_hash": "scrypt$16384$8$1$00$00"}],
        }
    )


class BenchPackage:
    """What the server reads of an election package: definition and hash (no register)."""

    def __init__(self, label: str, stations: int = 1) -> None:
        self.definition = bench_definition(stations)
        self.package_hash = hashlib.sha256(label.encode()).hexdigest()
        self.register: Any = None


def fresh_postgres(dsn: str, prefix: str = "uk_bench") -> tuple[str, Callable[[], None]]:
    """Create an empty database next to ``dsn``'s; return its URL and a function that drops it."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunparse(urlparse(dsn)._replace(path=f"/{name}")), drop
