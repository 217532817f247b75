"""API fuzzing with schemathesis against the served OpenAPI document, over mutual TLS, SQLite and PostgreSQL.

Valid and invalid requests generated from the schema must never cause a 5xx, and a refused request (4xx) must change
nothing in the election's facts (events, claims, releases, conflicts, kiosks). Refusals are recorded in the audit
table ``rejections``; that is the one table a refused request may add to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from synctest_helpers import PKI, committee_client, make_package

from sync import pki
from sync.server import storage as st
from sync.server.runner import EmbeddedServer, ServerTLS, start_embedded

PACKAGE = make_package()
FACTS = ("events", "claims", "releases", "conflicts", "kiosks")
EXAMPLES = 12  # per operation and mode


@pytest.fixture(scope="module")
def fuzz_server(db_url: str, module_pki: PKI) -> Iterator[EmbeddedServer]:
    server = start_embedded(PACKAGE, db_url, tls=ServerTLS(module_pki.server, module_pki.ca))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kiosk_session(module_pki: PKI) -> Iterator[requests.Session]:
    d = module_pki.kiosk("K-FUZZ")
    with requests.Session() as s:
        s.cert = (str(d / pki.CLIENT_CERT), str(d / pki.CLIENT_KEY))
        s.verify = str(d / pki.CA_CERT)
        yield s


@pytest.fixture(scope="module")
def api_schema(fuzz_server: EmbeddedServer, module_pki: PKI) -> Any:
    with committee_client(module_pki, fuzz_server.url, PACKAGE.package_hash) as c:
        doc = c.get("/openapi.json").json()  # the served document, fetched like any client would
    return schemathesis.openapi.from_dict(doc)


def check_case(case: Any, server: EmbeddedServer, session: requests.Session) -> None:
    # The package header is checked in test_auth; here it is right so the fuzzer reaches the handlers.
    case.headers = {**(case.headers or {}), "X-Uketsuke-Package": PACKAGE.package_hash}
    query = case.query or {}
    if isinstance(query.get("wait"), int | float) and query["wait"] > 0.05:
        query["wait"] = 0.05  # a valid long-poll just waits up to 30 s; the run only needs it to answer
    before = server.db.read_now(st.read_counts)
    # schemathesis passes its own TLS settings per request, so they are given here rather than on the session.
    response = case.call(base_url=server.url, session=session, timeout=30, verify=session.verify, cert=session.cert)
    after = server.db.read_now(st.read_counts)
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        changed = {t: (before[t], after[t]) for t in FACTS if before[t] != after[t]}
        assert not changed, f"refused request ({response.status_code}) changed {changed}: {response.text[:300]}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_error_and_refusals_change_nothing(
    mode: GenerationMode, api_schema: Any, fuzz_server: EmbeddedServer, kiosk_session: requests.Session
) -> None:
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    fuzzed = []
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not len(operation.query) and not len(operation.body):
            continue  # only the (fixed) package header is declared: nothing invalid to generate

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES, database=None)
        def run(case: Any) -> None:
            check_case(case, fuzz_server, kiosk_session)

        try:
            run()
        except Unsatisfiable:
            # Only the header is declared for some operations, and the header is set right above: nothing invalid
            # to send. Every operation has valid cases; the bodies and queries have invalid ones.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        fuzzed.append(operation.label)
    assert len(fuzzed) >= 5, fuzzed
