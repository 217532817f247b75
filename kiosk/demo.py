"""The scripted reception day behind ``uketsuke demo --headless``.

Everything is real except the people: a freshly generated sample municipality, the election package built and opened
(signature and encryption checked), one ledger per kiosk (durable, chained, signed), the software My Number card
in-process (read by PIN and by 照合番号B), the embedded tally server on SQLite (claims, push, pull) when it can start,
the reception core (kiosk.reception) and the file printer for every document. A settable clock walks through the
early-voting period to election day so the whole day runs in seconds.

The scenario shows what the reception exists for: ordinary check-ins, a partly voted voter coming back for the
elections whose early voting started later, a moved voter refused the municipal ballot, the classic double-voting
incident (votes without the 入場券, comes back with it) stopped, an early voter stopped by the server on election day,
a voter at the wrong station told the right one, and a manager's override with its reason.

The console shows the desk's view (Japanese, with names as the screen shows them); everything written to files names
voters by register key only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ballots.events import Event
from ballots.model import AbsenteeStatus, ElectionDefinition, StationKind, Voter
from ballots.package import build_package, open_package
from ballots.paper_backup import paper_backup_pdf
from ballots.printing import FilePrinter, PrintDocument, PrintService
from ballots.register import RegisterIndex
from ballots.reports import early_voting_reasons, hourly_turnout, report_pdf, sexes_from_register, station_record
from ballots.rules import JST, Code, assess
from ballots.sample import SampleResult, generate_sample
from ballots.staff import verify_pin
from ballots.wareki import format_wareki
from kiosk.reception import Reception, StepReport, claim_with
from kiosk.workflow import (
    Action,
    BarcodeScanned,
    CandidateChosen,
    CardRead,
    Confirmed,
    Desk,
    Finish,
    ManagerAuth,
    ManagerOverride,
    ManualSearch,
    ProxyVote,
    ReasonChosen,
    Screen,
    SignIn,
    SignOut,
)
from reader.outcomes import CardRead as CardReadOutcome
from reader.service import CardReader
from reader.softcard import Persona, PersonaError, SoftwareCard
from sync.keys import generate_key, public_key_hex, save_private_key, save_public_key
from sync.ledger import Ledger

__all__ = ["DemoError", "DemoResult", "run_headless_demo"]

log = logging.getLogger("uketsuke.demo")


class DemoError(RuntimeError):
    """The demo could not be set up (message says what and where)."""


@dataclass
class DemoResult:
    """What the demo left behind and what happened, by register key."""

    out_dir: Path
    package: Path
    package_hash: str
    server: str | None  # URL of the embedded server, or None when the demo ran without one
    ledgers: dict[str, Path] = field(default_factory=dict)  # kiosk id → ledger file
    printed: list[Path] = field(default_factory=list)
    stops: list[dict[str, Any]] = field(default_factory=list)  # every hard stop / refusal the desks showed
    events: dict[str, int] = field(default_factory=dict)  # event type → count over all ledgers

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (register keys only)."""
        return {
            "out": str(self.out_dir),
            "package": str(self.package),
            "package_hash": self.package_hash,
            "server": self.server,
            "ledgers": {k: str(v) for k, v in self.ledgers.items()},
            "printed": [str(p) for p in self.printed],
            "stops": self.stops,
            "events": self.events,
        }


# ---------------------------------------------------------------------------------------------------------------
# Setting the election up


@dataclass
class _Election:
    """The opened election: what the package gives a kiosk and the server."""

    definition: ElectionDefinition
    register: RegisterIndex
    package_hash: str
    path: Path


def _open_election(sample: SampleResult, out: Path, echo: Callable[[str], None]) -> _Election:
    """Build the signed, encrypted election package from the sample and open it as a kiosk does."""
    files = sample.to_dict()["files"]
    path = out / "election.pkg"
    passphrase = Path(files["passphrase"]).read_text("utf-8").strip()
    build_package(
        election=Path(files["election"]),
        register=Path(files["register"]),
        key=Path(files["private_key"]),
        out=path,
        passphrase=passphrase,
    )
    opened = open_package(path, Path(files["public_key"]), passphrase)
    echo(f"選挙パッケージを作成・検証しました：{path.name}（ハッシュ {opened.package_hash[:16]}…）")
    return _Election(opened.definition, opened.register, opened.package_hash, path)


@contextmanager
def _embedded_server(election: _Election, out: Path, echo: Callable[[str], None]) -> Iterator[Any | None]:
    """The tally server on loopback (demo mode, SQLite), or None when it cannot start here."""
    try:
        from sync.server.runner import start_embedded
    except ImportError as exc:
        echo(f"（集計サーバーを利用できません：{exc}。端末の記録だけで判定します）")
        yield None
        return
    try:
        server = start_embedded(election, f"sqlite:///{(out / 'server.db').resolve()}", host="127.0.0.1", port=0)
    except Exception as exc:  # a demo without a server still shows the reception; say why
        echo(f"（集計サーバーを起動できません：{exc}。端末の記録だけで判定します）")
        yield None
        return
    echo(f"集計サーバー（デモ・ループバック）：{server.url}")
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------------------------
# The desks


class _Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def set(self, day: date, hh: int, mm: int) -> None:
        self.at = datetime.combine(day, time(hh, mm), tzinfo=JST).astimezone(UTC)


_ACTION_TEXT: dict[type, str] = {
    SignIn: "係員サインイン",
    SignOut: "係員サインアウト",
    CardRead: "マイナンバーカード読取",
    BarcodeScanned: "入場券バーコード読取",
    ManualSearch: "氏名検索",
    CandidateChosen: "候補を選択",
    Confirmed: "本人確認OK",
    ReasonChosen: "事由を選択",
    ManagerOverride: "投票管理者が続行",
    ProxyVote: "代理投票の補助者を指名",
    Finish: "完了",
}


class _Desk:
    """One kiosk: its ledger, sync client, reception service and the console view of what the clerk sees."""

    def __init__(
        self,
        name: str,
        station_id: str,
        election: _Election,
        out: Path,
        clock: _Clock,
        printer: PrintService,
        server: Any | None,
        echo: Callable[[str], None],
        result: DemoResult,
        stack: ExitStack,
    ) -> None:
        self.name = name
        self.station = election.definition.station(station_id)
        self.echo = echo
        self.result = result
        self.clock = clock
        ledger_path = out / f"ledger-{name}.db"
        key = generate_key()
        save_private_key(key, ledger_path.with_suffix(".db.key"))
        # The committee keeps each kiosk's public key: with it `ledger verify --pubkey` proves the file untampered.
        save_public_key(key, ledger_path.with_suffix(".db.pub"))
        self.ledger = stack.enter_context(Ledger.open(ledger_path, kiosk_id=name, key=key))
        self.ledger.package_hash = election.package_hash
        result.ledgers[name] = ledger_path
        self.client: Any | None = None
        claim = None
        if server is not None:
            from sync.client import SyncClient

            self.client = SyncClient(
                server.url,
                self.ledger,
                election.package_hash,
                station_id=station_id,
                claim_timeout_s=election.definition.claim_timeout_ms / 1000,
                demo_ledger_key_hex=public_key_hex(key),
            )
            claim = claim_with(self.client)
        desk = Desk(election.definition, station_id, name, verify_pin)
        self.reception = Reception(desk, election.register, self.ledger, claim=claim, printer=printer, clock=clock)

    def do(self, action: Action, what: str | None = None, *, expect: Screen | None = None) -> StepReport:
        """Hand one action to the desk and print what its screen shows; DemoError if the script went off course."""
        report = self.reception.handle(action)
        s = report.state
        local = self.clock().astimezone(JST)
        label = what or _ACTION_TEXT.get(type(action), type(action).__name__)
        self.echo(f"  {local:%H:%M} [{self.name}] {label} → 【{s.title}】{s.notice}")
        if s.error:
            self.echo(f"        ⚠ {s.error}")
        if s.screen in (Screen.CONFIRM_IDENTITY, Screen.CHOOSE_CANDIDATE):
            for line in s.lines[:5]:
                self.echo(f"        {line}")
        if s.screen in (Screen.STOP, Screen.REFUSED, Screen.ISSUE):
            for line in s.lines:
                self.echo(f"        {line}")
        if s.screen in (Screen.STOP, Screen.REFUSED) and s.eligibility is not None:
            self.result.stops.append(
                {
                    "kiosk": self.name,
                    "station": self.station.id,
                    "voter": s.eligibility.voter_code,
                    "screen": s.screen.value,
                    "codes": {k: v.value for k, v in s.eligibility.codes().items()},
                    "at": self.clock().isoformat(),
                }
            )
        for job in report.printed:
            if job.location:
                self.result.printed.append(Path(job.location))
                self.echo(f"        印刷：{Path(job.location).name}")
            elif job.error is not None:
                self.echo(f"        ⚠ 印刷できませんでした：{job.error}")
        if s.error or (expect is not None and s.screen is not expect):
            raise DemoError(
                f"demo script off course at {self.name} {label}: screen {s.screen.value}"
                + (f", expected {expect.value}" if expect else "")
                + (f" ({s.error})" if s.error else "")
            )
        return report

    def sync(self) -> None:
        """Push this desk's events and pull everyone's check-ins (what the background threads do in the app)."""
        if self.client is None:
            return
        self.client.push_pending()
        self.client.pull_once()

    def close(self) -> None:
        """Release the HTTP connection pool."""
        if self.client is not None:
            self.client.stop()


# ---------------------------------------------------------------------------------------------------------------
# Picking the cast from the sample


@dataclass
class _Cast:
    card_pin: tuple[Persona, Path]  # voter read by card PIN at the early station
    card_collation: tuple[Persona, Path]  # read by 照合番号B, partly voted, comes back
    classic: Voter  # votes without the 入場券, then comes back with it
    wrong_station: Voter
    moved: Voter | None
    proxy: Voter
    absentee: Voter | None  # 不在者投票 papers issued, not returned: the manager decides
    twice: Voter  # goes from one desk straight to the next: only the server's claim can stop it
    day_station: str  # where the election-day desk is


def _fully_eligible(definition: ElectionDefinition, voter: Voter, station: str, on: date) -> bool:
    decisions = assess(definition, station, on, voter).decisions
    return all(d.code is Code.ELIGIBLE for d in decisions) and not voter.moved


def _pick_cast(election: _Election, sample: SampleResult, early_day: date) -> _Cast:
    definition = election.definition
    day = definition.election_day
    early = next(s.id for s in definition.stations if s.kind is StationKind.EARLY)
    personas: list[tuple[Persona, Path]] = []
    for path in sample.personas:
        try:
            p = Persona.from_file(path)
        except PersonaError:
            continue  # e.g. the sample's card holder who is deliberately not in the register
        voter = election.register.by_code(p.register_code) if p.register_code else None
        if voter is not None and _fully_eligible(definition, voter, early, early_day):
            personas.append((p, path))
    if len(personas) < 2:
        raise DemoError("the sample has fewer than two eligible card personas; regenerate with more --personas")
    # The election-day desk is the station of the first card holder, who comes back there on the day.
    first = election.register.by_code(personas[0][0].register_code)
    own = definition.day_station_for(first.precinct) if first else None
    if own is None:
        raise DemoError("no election-day station serves the first card holder's 投票区")
    day_station = own.id
    served = set(definition.station(day_station).precincts)
    used = {p.register_code for p, _ in personas[:2]}
    classic = wrong = moved = proxy = absentee = twice = None
    for v in election.register:
        if v.code in used:
            continue
        own_station = definition.day_station_for(v.precinct)
        if v.moved and v.absentee is None and moved is None and v.age_on(early_day) >= 18:
            moved = v
        elif (
            absentee is None
            and v.absentee is AbsenteeStatus.ISSUED
            and v.precinct in served
            and _fully_eligible(definition, replace(v, absentee=None), day_station, day)
        ):
            absentee = v
        elif v.precinct in served and _fully_eligible(definition, v, day_station, day):
            if classic is None:
                classic = v
            elif proxy is None and v.kana.split("　")[0] != classic.kana.split("　")[0]:
                proxy = v
            elif twice is None:
                twice = v
        elif (
            wrong is None
            and own_station is not None
            and v.precinct not in served
            and _fully_eligible(definition, v, own_station.id, day)
        ):
            wrong = v
        if classic and wrong and moved and proxy and absentee and twice:
            break
    if classic is None or wrong is None or proxy is None or twice is None:
        raise DemoError("the sample register is too small for the demo's cast; use more --voters")
    return _Cast(personas[0], personas[1], classic, wrong, moved, proxy, absentee, twice, day_station)


def _read_card(desk: _Desk, persona: Persona, path: Path, *, by_pin: bool) -> CardRead | None:
    """Read the software card the way the desk does; return the action for the machine (photo stays in memory)."""
    reader = CardReader(SoftwareCard.from_persona(path).connector())
    outcome = reader.read_with_pin(persona.pin) if by_pin else reader.read_with_collation_number(persona.collation_b)
    how = "暗証番号" if by_pin else "照合番号B"
    if not isinstance(outcome, CardReadOutcome):
        desk.echo(f"  カード読取失敗（{how}）：{outcome.message}")
        return None
    info, photo = outcome.info, outcome.photo
    shown = f"、顔写真 {photo.width}×{photo.height} を表示（保存しない）" if photo is not None else ""
    desk.echo(f"  カードを読み取りました（{how}{shown}）")
    # Whether the photo was shown decides data.identity (card_photo / card_pin_no_photo) on the check-ins.
    return CardRead(info.name, info.address, info.birth_date, info.sex_code, photo=photo is not None)


# ---------------------------------------------------------------------------------------------------------------
# The day


def run_headless_demo(
    out_dir: str | Path,
    *,
    voters: int = 3000,
    seed: int = 7,
    echo: Callable[[str], None] = print,
    use_server: bool = True,
) -> DemoResult:
    """Run the scripted reception day into ``out_dir`` (created; must be empty) and return what happened."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise DemoError(f"{out}: directory is not empty (the demo writes a fresh election there)")
    out.mkdir(parents=True, exist_ok=True)
    echo(f"サンプルの自治体を生成しています（選挙人 {voters} 人）…")
    sample = generate_sample(out / "sample", voters, seed=seed, personas=12)
    election = _open_election(sample, out, echo)
    definition = election.definition
    pins = sample.staff_pins
    clerk, manager = "c01", "m01"
    boss = ManagerAuth(manager, pins[manager])

    day = definition.election_day
    starts = sorted({e.early_voting_start for e in definition.elections})
    first_day = starts[0] + timedelta(days=1)  # only the elections whose early voting has begun
    full_day = max(starts[-1], first_day + timedelta(days=1))  # every election open
    early_station = next(s.id for s in definition.stations if s.kind is StationKind.EARLY)
    result = DemoResult(out, election.path, election.package_hash, None)
    clock = _Clock()
    printer = PrintService(FilePrinter(out / "printed"))

    with ExitStack() as stack, _embedded_server(election, out, echo) if use_server else _no_server() as server:
        result.server = server.url if server is not None else None
        cast = _pick_cast(election, sample, full_day)
        day_station = definition.station(cast.day_station)
        e_desk = _Desk("E01-1", early_station, election, out, clock, printer, server, echo, result, stack)
        d_desk = _Desk(
            f"{day_station.id}-1", day_station.id, election, out, clock, printer, server, echo, result, stack
        )
        d_desk2 = _Desk(
            f"{day_station.id}-2", day_station.id, election, out, clock, printer, server, echo, result, stack
        )
        stack.callback(e_desk.close)
        stack.callback(d_desk.close)
        stack.callback(d_desk2.close)
        desks = (e_desk, d_desk, d_desk2)

        def sync_all() -> None:
            for d in desks:
                d.sync()
            for d in desks:
                d.sync()
            if server is None:
                # No server: carry every desk's check-ins to the others the way the committee's 期日前済 list and
                # the station's own paper marks do (here: the sealed events themselves, into each replica).
                for a in desks:
                    for b in desks:
                        if a is not b:
                            b.ledger.add_replica(a.ledger.sealed())

        def header(desk: _Desk, on: date) -> None:
            kind = "期日前投票" if desk.station.kind is StationKind.EARLY else "選挙当日"
            echo("")
            echo(f"━━ {format_wareki(on)}（{kind}）{desk.station.name}　端末 {desk.name} ━━")

        # --- early voting, first days: national elections only -----------------------------------------------
        (p1, p1_path), (p2, p2_path) = cast.card_pin, cast.card_collation
        clock.set(first_day, 8, 30)
        header(e_desk, first_day)
        e_desk.do(SignIn(clerk, pins[clerk]))
        clock.set(first_day, 9, 12)
        card = _read_card(e_desk, p2, p2_path, by_pin=False)
        if card is not None:
            e_desk.do(card, expect=Screen.CONFIRM_IDENTITY)
            e_desk.do(Confirmed(), expect=Screen.CHOOSE_REASON)
            e_desk.do(ReasonChosen(2), "事由 2（旅行・滞在）", expect=Screen.ISSUE)
            e_desk.do(Finish())
        sync_all()

        # --- early voting, everything open -------------------------------------------------------------------
        clock.set(full_day, 9, 5)
        header(e_desk, full_day)
        e_desk.do(SignIn(clerk, pins[clerk]))
        card = _read_card(e_desk, p1, p1_path, by_pin=True)
        if card is not None:
            e_desk.do(card, expect=Screen.CONFIRM_IDENTITY)
            e_desk.do(Confirmed(), expect=Screen.CHOOSE_REASON)
            e_desk.do(ReasonChosen(1), "事由 1（仕事）", expect=Screen.ISSUE)
            e_desk.do(Finish())
        clock.set(full_day, 10, 40)
        echo("  ― 一部投票済みの選挙人が、後から始まった選挙の投票に来ました ―")
        card = _read_card(e_desk, p2, p2_path, by_pin=False)
        if card is not None:
            e_desk.do(card, expect=Screen.CONFIRM_IDENTITY)
            e_desk.do(Confirmed(), expect=Screen.STOP)
            e_desk.do(Confirmed(), "一部投票済みを確認し、残りの選挙で続行", expect=Screen.CHOOSE_REASON)
            e_desk.do(ReasonChosen(2), "事由 2（旅行・滞在）", expect=Screen.ISSUE)
            e_desk.do(Finish())
        if cast.moved is not None:
            clock.set(full_day, 11, 20)
            echo("  ― 転出者（名簿に転出の表示）―")
            e_desk.do(BarcodeScanned(cast.moved.code), expect=Screen.CONFIRM_IDENTITY)
            e_desk.do(Confirmed(), expect=Screen.CHOOSE_REASON)
            e_desk.do(ReasonChosen(5), "事由 5（区域外に居住）", expect=Screen.ISSUE)
            e_desk.do(Finish())
        clock.set(full_day, 17, 0)
        e_desk.do(SignOut())
        sync_all()

        # --- election day -----------------------------------------------------------------------------------
        clock.set(day, 6, 50)
        header(d_desk, day)
        d_desk.do(SignIn(clerk, pins[clerk]))
        clock.set(day, 7, 15)
        echo("  ― 入場券を持たずに来た選挙人（氏名とカナ・生年月日で検索）―")
        family = cast.classic.kana.split("　")[0]
        d_desk.do(ManualSearch(family, cast.classic.birth_date), f"氏名検索「{family}」＋生年月日")
        if d_desk.reception.state.screen is Screen.CHOOSE_CANDIDATE:
            d_desk.do(CandidateChosen(cast.classic.code))
        d_desk.do(Confirmed(), expect=Screen.ISSUE)
        d_desk.do(Finish())
        sync_all()

        clock.set(day, 9, 40)
        echo("  ― 期日前投票をした選挙人が当日も来ました ―")
        card = _read_card(d_desk, p1, p1_path, by_pin=True)
        if card is not None:
            d_desk.do(card, expect=Screen.CONFIRM_IDENTITY)
            d_desk.do(Confirmed(), expect=Screen.STOP)
            d_desk.do(Finish(), "交付せずに帰っていただく")

        clock.set(day, 10, 5)
        echo("  ― 投票区が違う選挙人 ―")
        d_desk.do(BarcodeScanned(cast.wrong_station.code), expect=Screen.CONFIRM_IDENTITY)
        d_desk.do(Confirmed(), expect=Screen.REFUSED)
        d_desk.do(Finish())

        clock.set(day, 11, 30)
        echo("  ― 代理投票（投票管理者が補助者2名を指名）―")
        d_desk.do(BarcodeScanned(cast.proxy.code))
        d_desk.do(Confirmed(), expect=Screen.ISSUE)
        d_desk.do(ProxyVote(boss, ("c02", "c03")), expect=Screen.ISSUE)
        d_desk.do(Finish())
        sync_all()

        if server is not None:
            clock.set(day, 12, 0)
            echo(f"  （受付2：端末 {d_desk2.name} を開設）")
            d_desk2.do(SignIn("c02", pins["c02"]))
            clock.set(day, 12, 10)
            echo("  ― 受付1で交付を受けた直後に、同じ人が受付2に並びました（端末間の同期より先）―")
            d_desk.do(BarcodeScanned(cast.twice.code), expect=Screen.CONFIRM_IDENTITY)
            d_desk.do(Confirmed(), expect=Screen.ISSUE)
            d_desk.do(Finish())
            clock.set(day, 12, 11)
            d_desk2.do(BarcodeScanned(cast.twice.code), expect=Screen.CONFIRM_IDENTITY)
            d_desk2.do(Confirmed(), "本人確認OK（サーバーに交付を照会）", expect=Screen.STOP)
            d_desk2.do(Finish(), "交付せずに帰っていただく")
            d_desk2.do(SignOut())
            sync_all()

        if cast.absentee is not None:
            clock.set(day, 13, 20)
            echo("  ― 不在者投票用紙を交付済み・未返還の選挙人（投票管理者が判断）―")
            d_desk.do(BarcodeScanned(cast.absentee.code))
            d_desk.do(Confirmed(), expect=Screen.STOP)
            d_desk.do(
                ManagerOverride(boss, "不在者投票用紙一式の返還を受け、選挙管理委員会に未投票を電話で確認"),
                expect=Screen.ISSUE,
            )
            d_desk.do(Finish())

        clock.set(day, 15, 10)
        echo("  ― 朝の選挙人が入場券を持って再び来ました（過去の二重投票事件と同じ状況）―")
        d_desk.do(BarcodeScanned(cast.classic.code + "0001"), expect=Screen.CONFIRM_IDENTITY)
        d_desk.do(Confirmed(), expect=Screen.STOP)
        d_desk.do(Finish(), "交付せずに帰っていただく")
        clock.set(day, 20, 0)
        d_desk.do(SignOut())
        sync_all()

        for desk in desks:
            for ev in desk.ledger.events():
                result.events[ev.type.value] = result.events.get(ev.type.value, 0) + 1
            report = desk.ledger.verify()
            echo(f"台帳 {desk.name}：{report.checked} 件、検証 {'OK' if report.ok else 'NG：' + str(report.reason)}")
            if not report.ok:
                raise DemoError(f"ledger {desk.name} does not verify: {report.reason}")
        _print_closing_reports(
            election, [ev for d in desks for ev in d.ledger.events()], printer, result, echo,
            early=(early_station, full_day), day=(day_station.id, day),
        )

    echo("")
    echo(f"停止・交付不可：{len(result.stops)} 件　印刷：{len(result.printed)} 件　出力先：{out}")
    (out / "demo-summary.json").write_text(
        json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return result


def _print_closing_reports(
    election: _Election,
    events: list[Event],
    printer: PrintService,
    result: DemoResult,
    echo: Callable[[str], None],
    *,
    early: tuple[str, date],
    day: tuple[str, date],
) -> None:
    """Print what each station prints at closing: 投票録, hourly turnout, 投票事由調書 and the voted-so-far list."""
    definition = election.definition
    sexes = sexes_from_register(election.register)
    (early_id, early_day), (day_id, election_day) = early, day
    documents: list[tuple[str, Callable[[], bytes]]] = [
        (
            f"期日前投票録 {early_id} {early_day.isoformat()}",
            lambda: report_pdf(station_record(
                events, definition, sexes, station_id=early_id, day=early_day, register=election.register
            )),
        ),
        (
            f"投票事由調書 {early_id}",
            lambda: report_pdf(early_voting_reasons(events, definition, sexes, station_id=early_id)),
        ),
        (
            f"投票録 {day_id} {election_day.isoformat()}",
            lambda: report_pdf(station_record(
                events, definition, sexes, station_id=day_id, day=election_day, register=election.register
            )),
        ),
        (
            f"時間別投票者数 {day_id}",
            lambda: report_pdf(hourly_turnout(events, definition, sexes, day=election_day, station_id=day_id)),
        ),
        (
            f"投票済み一覧（紙の予備） {day_id}",
            lambda: paper_backup_pdf(definition, election.register, events, station_id=day_id),
        ),
    ]
    echo("")
    echo("━━ 閉鎖時の帳票 ━━")
    for title, render in documents:

        def render_once(_reprint: bool, render: Callable[[], bytes] = render) -> bytes:
            return render()

        job = printer.submit(PrintDocument(title, render_once))
        if job.location:
            result.printed.append(Path(job.location))
        echo(f"  印刷：{title}（{job.message}）")


@contextmanager
def _no_server() -> Iterator[None]:
    yield None
