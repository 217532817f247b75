"""``uketsuke pki``: the committee's own CA for mutual TLS (init, issue-server/-kiosk/-committee, revoke)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kiosk.cli import CommandError, emit
from sync import keys, pki

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``pki`` command group."""
    p = subparsers.add_parser(
        "pki",
        help="committee CA: certificates for the tally server and kiosks",
        description="The committee's own certificate authority for mutual TLS.",
    )
    sub = p.add_subparsers(dest="pki_command", metavar="ACTION")
    sub.required = True

    init = sub.add_parser("init", help="create a new CA")
    init.add_argument("--out", type=Path, required=True, help="CA directory (ca.crt, ca.key, crl.pem)")
    init.add_argument("--name", default="Uketsuke election committee CA", help="CA common name")
    init.add_argument("--json", action="store_true")
    init.set_defaults(func=_init)

    srv = sub.add_parser("issue-server", help="issue the tally server's certificate")
    srv.add_argument("--ca", type=Path, required=True, help="CA directory")
    srv.add_argument("--name", required=True, help="server host name or IP address the kiosks connect to")
    srv.add_argument("--out", type=Path, required=True, help="directory for server.crt, server.key, ca.crt")
    srv.add_argument("--json", action="store_true")
    srv.set_defaults(func=_issue_server)

    kio = sub.add_parser("issue-kiosk", help="issue a kiosk certificate bound to the kiosk id and its ledger key")
    kio.add_argument("--ca", type=Path, required=True, help="CA directory")
    kio.add_argument("--kiosk-id", required=True, help="kiosk id (as in the kiosk's ledger)")
    kio.add_argument(
        "--out",
        type=Path,
        required=True,
        help="directory for client.crt, client.key, ca.crt (and ledger.key when generated)",
    )
    kio.add_argument(
        "--ledger-pubkey",
        type=Path,
        help="bind this existing Ed25519 ledger public key (PEM); default: generate ledger.key in --out",
    )
    kio.add_argument("--json", action="store_true")
    kio.set_defaults(func=_issue_kiosk)

    com = sub.add_parser("issue-committee", help="issue a committee certificate (committee endpoints)")
    com.add_argument("--ca", type=Path, required=True, help="CA directory")
    com.add_argument("--name", required=True, help="committee member or workstation id")
    com.add_argument("--out", type=Path, required=True, help="directory for client.crt, client.key, ca.crt")
    com.add_argument("--json", action="store_true")
    com.set_defaults(func=_issue_committee)

    rev = sub.add_parser("revoke", help="revoke every certificate of a kiosk (the server re-reads crl.pem)")
    rev.add_argument("--ca", type=Path, required=True, help="CA directory")
    who = rev.add_mutually_exclusive_group(required=True)
    who.add_argument("--kiosk-id", help="kiosk to revoke")
    who.add_argument("--committee", help="committee certificate holder to revoke")
    rev.add_argument("--json", action="store_true")
    rev.set_defaults(func=_revoke)


def _init(args: argparse.Namespace) -> int:
    cert = pki.init_ca(args.out, args.name)
    emit(
        {"ca_cert": str(cert), "ca_dir": str(args.out)},
        args.json,
        lambda d: f"CA created: {d['ca_cert']} (keep {args.out / pki.CA_KEY} offline and secret)",
    )
    return 0


def _issue_server(args: argparse.Namespace) -> int:
    cert = pki.issue_server(args.ca, args.name, args.out)
    emit(
        {"cert": str(cert), "name": args.name}, args.json, lambda d: f"server certificate for {d['name']}: {d['cert']}"
    )
    return 0


def _issue_kiosk(args: argparse.Namespace) -> int:
    ledger_key = None
    if args.ledger_pubkey is not None:
        try:
            ledger_key = keys.load_public_key(args.ledger_pubkey)
        except keys.KeyFileError as exc:
            raise CommandError(str(exc)) from None
    cert = pki.issue_client(args.ca, args.kiosk_id, args.out, pki.CertRole.KIOSK, ledger_key)
    data = {"cert": str(cert), "kiosk_id": args.kiosk_id}
    if ledger_key is None:
        data["ledger_key"] = str(args.out / pki.LEDGER_KEY)
    emit(
        data,
        args.json,
        lambda d: (
            f"kiosk certificate for {d['kiosk_id']}: {d['cert']}"
            + (f"\nledger signing key: {d['ledger_key']} (use it as the kiosk's --key)" if "ledger_key" in d else "")
        ),
    )
    return 0


def _issue_committee(args: argparse.Namespace) -> int:
    cert = pki.issue_client(args.ca, args.name, args.out, pki.CertRole.COMMITTEE)
    emit(
        {"cert": str(cert), "name": args.name},
        args.json,
        lambda d: f"committee certificate for {d['name']}: {d['cert']}",
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    role = pki.CertRole.KIOSK if args.kiosk_id else pki.CertRole.COMMITTEE
    who = args.kiosk_id or args.committee
    serials = pki.revoke(args.ca, who, role)
    emit(
        {"revoked": [format(s, "x") for s in serials], "holder": who, "crl": str(args.ca / pki.CRL)},
        args.json,
        lambda d: f"revoked {len(d['revoked'])} certificate(s) of {who}; CRL: {d['crl']}",
    )
    return 0
