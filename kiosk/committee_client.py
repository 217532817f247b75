"""Headless client for the tally server's committee endpoints, over mutual TLS with a committee certificate.

Used by ``uketsuke committee`` (the Qt view calls it from background operations, never on the UI thread) and by
``uketsuke report committee|conflicts|access|turnout``. Every failure is a ``CommitteeClientError`` whose message says
what went wrong and where (server URL, endpoint, HTTP status and the server's reason), in English for the log and a
Japanese ``message_ja`` for the committee's screen.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from ballots.committee_reports import (
    AccessReport,
    CommitteeFacts,
    CommitteeReport,
    ConflictsReport,
    EarlyReport,
    StationsTable,
    TurnoutReport,
    VoidsTable,
)

__all__ = ["CommitteeClient", "CommitteeClientError", "CommitteeSnapshot", "CommitteeTLS"]

PACKAGE_HEADER = "X-Uketsuke-Package"


class CommitteeClientError(RuntimeError):
    """The committee endpoints could not be used; ``status`` is the HTTP status when the server answered."""

    def __init__(self, message: str, message_ja: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message_ja = message_ja
        self.status = status


@dataclass(frozen=True, slots=True)
class CommitteeTLS:
    """The committee's client certificate and key (``uketsuke pki issue-committee``) and the committee CA."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def from_dirs(cls, tls_dir: Path, ca: Path | None = None) -> CommitteeTLS:
        """``client.crt``/``client.key`` in ``tls_dir``; the CA certificate from ``ca`` (a ``ca.crt`` file or a
        directory holding one), default ``tls_dir/ca.crt``. Raises CommitteeClientError naming a missing file."""
        ca_file = tls_dir / "ca.crt" if ca is None else (ca / "ca.crt" if ca.is_dir() else ca)
        tls = cls(tls_dir / "client.crt", tls_dir / "client.key", ca_file)
        for p in (tls.cert, tls.key, tls.ca):
            if not p.is_file():
                raise CommitteeClientError(f"{p}: not found", f"証明書ファイルがありません：{p}")
        return tls

    def ssl_context(self) -> ssl.SSLContext:
        """Verify the server against the committee CA only; present the committee certificate."""
        try:
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
            ctx.load_cert_chain(str(self.cert), str(self.key))
        except (ssl.SSLError, OSError) as exc:
            raise CommitteeClientError(
                f"{self.cert}: cannot load the certificate: {exc}", f"証明書を読み込めません：{self.cert}"
            ) from None
        return ctx


@dataclass(frozen=True, slots=True)
class CommitteeSnapshot:
    """Everything the committee view shows, fetched together by one background refresh."""

    facts: CommitteeFacts
    server_time: str
    stations: StationsTable
    turnout: TurnoutReport
    early: EarlyReport
    duplicates: ConflictsReport
    voids: VoidsTable


class CommitteeClient:
    """Calls the committee endpoints; thread-safe for the sequential calls one background operation makes."""

    def __init__(
        self,
        base_url: str,
        tls: CommitteeTLS | None,
        *,
        timeout_s: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise CommitteeClientError(
                f"server URL {base_url!r}: expected https://host:port", f"サーバーのURLが正しくありません：{base_url}"
            )
        verify: ssl.SSLContext | bool = tls.ssl_context() if tls is not None else True
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, verify=verify, transport=transport, timeout=httpx.Timeout(timeout_s)
        )
        self._facts: CommitteeFacts | None = None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> CommitteeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise CommitteeClientError(
                f"{self.base_url}{path}: cannot reach the server: {exc}",
                f"サーバーに接続できません（{self.base_url}）",
            ) from None
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            ja = {
                401: "委員会の証明書が必要です",
                403: "この証明書では委員会の情報を見られません（委員会の証明書が必要です）",
                404: "対象が見つかりません",
                409: "サーバーと選挙パッケージが一致しません",
            }.get(resp.status_code, "サーバーがエラーを返しました")
            raise CommitteeClientError(
                f"{self.base_url}{path}: HTTP {resp.status_code}: {detail}",
                f"{ja}（{resp.status_code}）",
                resp.status_code,
            )
        return resp.json()

    # -- endpoints ---------------------------------------------------------------------------------------------------
    def facts(self, refresh: bool = False) -> CommitteeFacts:
        """The package facts (fetched once); later calls send the package hash so a mismatch is refused."""
        if self._facts is None or refresh:
            self._facts = CommitteeFacts.from_json(self._call("GET", "/v1/committee/election"))
            self._http.headers[PACKAGE_HEADER] = self._facts.package_hash
        return self._facts

    def stations(self) -> list[dict[str, Any]]:
        """Every kiosk's state."""
        self.facts()
        return list(self._call("GET", "/v1/committee/stations"))

    def overview(self, day: date | None = None) -> dict[str, Any]:
        """Stations and the day's turnout in one call (the live view's refresh)."""
        self.facts()
        params = {"day": day.isoformat()} if day else {}
        return dict(self._call("GET", "/v1/committee/overview", params=params))

    def turnout(self, day: date | None = None) -> TurnoutReport:
        """The day's turnout (default: today in Japan)."""
        facts = self.facts()
        params = {"day": day.isoformat()} if day else {}
        return TurnoutReport.from_json(facts, self._call("GET", "/v1/committee/turnout", params=params))

    def early(self) -> EarlyReport:
        """Early voting by day and 事由."""
        facts = self.facts()
        return EarlyReport.from_json(facts, self._call("GET", "/v1/committee/early"))

    def duplicates(self) -> ConflictsReport:
        """Refused claims and conflicts with notes."""
        facts = self.facts()
        return ConflictsReport.from_json(facts, self._call("GET", "/v1/committee/duplicates"))

    def voids(self) -> list[dict[str, Any]]:
        """The void and override log."""
        self.facts()
        return list(self._call("GET", "/v1/committee/voids"))

    def access(self, voter: str) -> AccessReport:
        """Who viewed ``voter``'s record (the lookup itself is recorded on the server)."""
        facts = self.facts()
        return AccessReport.from_json(facts, self._call("POST", "/v1/committee/access", json={"voter": voter}))

    def add_note(self, subject: str, subject_id: int, note: str) -> dict[str, Any]:
        """Add a resolution note to a conflict (``subject='conflict'``) or a refused claim (``'refusal'``)."""
        self.facts()
        body = {"subject": subject, "subject_id": subject_id, "note": note}
        return dict(self._call("POST", "/v1/committee/notes", json=body))

    def committee_report(self, day: date | None = None) -> CommitteeReport:
        """Everything for the committee's report of ``day``."""
        facts = self.facts()
        params = {"day": day.isoformat()} if day else {}
        return CommitteeReport.from_json(
            facts,
            stations=self._call("GET", "/v1/committee/stations"),
            turnout=self._call("GET", "/v1/committee/turnout", params=params),
            early=self._call("GET", "/v1/committee/early"),
            duplicates=self._call("GET", "/v1/committee/duplicates"),
            voids=self._call("GET", "/v1/committee/voids"),
        )

    def snapshot(self, day: date | None = None, *, reuse_early: EarlyReport | None = None) -> CommitteeSnapshot:
        """The live view's refresh: overview (stations + the day's turnout), early voting, duplicates, voids.

        ``reuse_early``: keep these early-voting figures instead of asking again (they stop moving once election day
        has begun, and they are the costliest section after the turnout)."""
        facts = self.facts()
        ov = self.overview(day)
        return CommitteeSnapshot(
            facts=facts,
            server_time=str(ov.get("server_time", "")),
            stations=StationsTable(facts, tuple(ov["stations"])),
            turnout=TurnoutReport.from_json(facts, ov["turnout"]),
            early=reuse_early if reuse_early is not None else self.early(),
            duplicates=self.duplicates(),
            voids=VoidsTable(facts, tuple(self.voids())),
        )
