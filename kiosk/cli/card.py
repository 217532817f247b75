"""``uketsuke card``: read a My Number card for diagnostics, and emulate one in pcscd's virtual reader.

``card read`` prints the basic 4 info (JSON keys as docs/contracts.md "Card read result"); the photo is written only
with ``--photo-out``. ``card emulate`` puts a persona's software card into vpcd and takes commands on stdin.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

from ballots.wareki import format_wareki
from kiosk.cli import CommandError, emit
from reader.outcomes import CardRead, Failure
from reader.service import CardReader
from reader.softcard import LinkLatency, SoftwareCard
from reader.vpcd import DEFAULT_PORT, VpcdCard, VpcdError

__all__ = ["register"]

EMULATE_HELP = """\
Connect the persona's software card to vpcd (127.0.0.1:PORT) so pcscd shows it as a card in "Virtual PCD 00 00"
(port 35963) or "Virtual PCD 00 01" (35964). The card is inserted at start unless --removed is given.

Commands on standard input, one per line:
  insert   put the card in the reader
  remove   take it out (the card loses power)
  status   print inserted/removed and the tries left (PIN, 照合番号B)
  quit     remove the card and exit
Signals: SIGUSR1 insert, SIGUSR2 remove, SIGINT/SIGTERM quit. At the end of standard input the emulator keeps
running until a signal (so it can run in the background with </dev/null).
"""


def register(sub: Any) -> None:
    """Add ``card read``, ``card readers`` and ``card emulate``."""
    card = sub.add_parser("card", help="My Number card: read (diagnostics), list readers, emulate")
    card_sub = card.add_subparsers(dest="card_command", metavar="SUBCOMMAND")
    card_sub.required = True

    read = card_sub.add_parser(
        "read",
        help="read the basic 4 info from the card",
        description="Read the card. The secret is prompted for (hidden), or read from standard input when that is not "
        "a terminal. Prints the basic 4 info; writes the face photo only with --photo-out.",
    )
    read.add_argument("--reader", metavar="NAME", help="reader name (default: the first reader with a card)")
    way = read.add_mutually_exclusive_group(required=True)
    way.add_argument("--pin", action="store_true", help="path 1: the voter's 4-digit PIN")
    way.add_argument("--collation-b", action="store_true", help="path 2: 照合番号B (14 digits): info and photo")
    read.add_argument("--json", action="store_true", help="print JSON")
    read.add_argument("--photo-out", metavar="PATH", type=Path, help="write the face photo here (PNG, JP2, …)")
    read.add_argument(
        "--security-code",
        metavar="CODE",
        help="with --pin: also read the photo using the 4-digit security code (birth date from the card)",
    )
    read.add_argument("--expiry-year", metavar="YYYY", type=int, help="the card's expiry year when the card hides it")
    read.set_defaults(func=_read)

    readers = card_sub.add_parser("readers", help="list the card readers pcscd sees")
    readers.add_argument("--json", action="store_true", help="print JSON")
    readers.set_defaults(func=_readers)

    emulate = card_sub.add_parser(
        "emulate",
        help="emulate a persona's card in the vpcd virtual reader",
        description=EMULATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    emulate.add_argument("--persona", metavar="FILE", type=Path, required=True, help="persona JSON")
    emulate.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"vpcd port (default {DEFAULT_PORT})")
    emulate.add_argument("--latency", action="store_true", help="model a 424 kbit/s link with 2 ms per APDU")
    emulate.add_argument("--removed", action="store_true", help="start with the card out of the reader")
    emulate.add_argument("--pin-tries", type=int, default=3, help="PIN try counter (default 3)")
    emulate.add_argument("--collation-tries", type=int, default=10, help="照合番号B try counter (default 10)")
    emulate.set_defaults(func=_emulate)


def _secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def _pcsc_reader(name: str | None) -> CardReader:
    # Imported here so that commands not touching PC/SC never load pyscard.
    from reader.pcsc import PcscConnector

    return CardReader(PcscConnector(name))


def _text(result: dict[str, str]) -> str:
    birth = date.fromisoformat(result["birth_date"])
    return "\n".join(
        [
            f"氏名　　：{result['name']}",
            f"住所　　：{result['address']}",
            f"生年月日：{format_wareki(birth, with_gregorian=True)}",
            f"性別　　：{result['sex_label']}",
        ]
    )


def _read(args: argparse.Namespace) -> int:
    if args.security_code and not args.pin:
        raise CommandError("--security-code goes with --pin (path 2 reads the photo anyway)")
    if args.photo_out and args.pin and not args.security_code:
        raise CommandError("--photo-out with --pin needs --security-code (the photo opens only with 照合番号B)")
    reader = _pcsc_reader(args.reader)
    with reader.session() as session:
        if args.pin:
            outcome: CardRead | Failure = session.read_with_pin(_secret("暗証番号（4桁）: "))
        else:
            outcome = session.read_with_collation_number(_secret("照合番号B（14桁）: "), photo=True)
        if isinstance(outcome, Failure):
            raise CommandError(outcome.message, code=1)
        photo = outcome.photo
        if args.pin and args.security_code:
            photo_outcome = session.read_photo(outcome.info.birth_date, args.security_code, args.expiry_year)
            if isinstance(photo_outcome, Failure):
                raise CommandError(photo_outcome.message, code=1)
            photo = photo_outcome.photo
    if args.photo_out and photo is not None:
        try:
            photo.save(args.photo_out)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot write the photo to {args.photo_out}: {exc}") from None
    data = outcome.info.to_json()
    if args.json:
        emit(data, True)
    else:
        emit({**data, "sex_label": outcome.info.sex_label}, False, _text)
    return 0


def _readers(args: argparse.Namespace) -> int:
    from reader.pcsc import list_readers
    from reader.transport import TransportError

    try:
        names = list_readers()
    except TransportError as exc:
        raise CommandError(str(exc), code=1) from None
    emit(names, args.json, lambda n: "\n".join(n) if n else "(no readers)")
    return 0


def _emulate(args: argparse.Namespace) -> int:
    card = SoftwareCard.from_persona(
        args.persona,
        pin_tries=args.pin_tries,
        collation_tries=args.collation_tries,
        latency=LinkLatency() if args.latency else None,
    )
    link = VpcdCard(card, port=args.port)
    done = threading.Event()

    def act(command: str) -> None:
        try:
            if command == "insert":
                link.insert()
            elif command == "remove":
                link.remove()
            elif command == "status":
                from reader.profiles.gen1 import AID_TEXT

                state = "inserted" if link.inserted else "removed"
                print(
                    f"{state} pin_tries={card.tries_left(AID_TEXT, 0x0011)} "
                    f"collation_b_tries={card.tries_left(AID_TEXT, 0x0015)}",
                    flush=True,
                )
                return
            elif command == "quit":
                done.set()
                return
            elif command:
                print(f"unknown command {command!r} (insert, remove, status, quit)", file=sys.stderr, flush=True)
                return
            else:
                return
        except VpcdError as exc:
            print(f"uketsuke: {exc}", file=sys.stderr, flush=True)
            return
        print("inserted" if link.inserted else "removed", flush=True)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        commands = {signal.SIGUSR1: "insert", signal.SIGUSR2: "remove"}
        # Socket work off the signal handler: it may interrupt the serving thread's lock holder.
        threading.Thread(target=act, args=(commands.get(signal.Signals(signum), "quit"),), daemon=True).start()

    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    if not args.removed:
        try:
            link.insert()
        except VpcdError as exc:
            raise CommandError(str(exc), code=1) from None
        print("inserted", flush=True)

    def read_stdin() -> None:
        for line in sys.stdin:
            act(line.strip().lower())
            if done.is_set():
                return

    threading.Thread(target=read_stdin, name="stdin", daemon=True).start()
    while not done.wait(0.2):
        pass
    link.remove()
    return 0
