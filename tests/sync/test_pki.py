"""The committee PKI: what the certificates say, which names are refused, revocation reloads, foreign input."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as hs

from sync import pki


def der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ca")
    pki.init_ca(d)
    return d


@pytest.mark.parametrize(
    ("role", "with_key"),
    [(pki.CertRole.KIOSK, False), (pki.CertRole.KIOSK, True), (pki.CertRole.COMMITTEE, False)],
)
def test_client_certificate_names_holder_role_and_ledger_key(
    ca: Path, tmp_path: Path, role: pki.CertRole, with_key: bool
) -> None:
    given_key = Ed25519PrivateKey.generate().public_key() if with_key else None
    cert = pki.issue_client(ca, "E01-desk.2", tmp_path, role, given_key)
    ident = pki.identity_from_der(der(cert))
    assert (ident.client_id, ident.role) == ("E01-desk.2", role)
    if role is pki.CertRole.COMMITTEE:
        assert ident.ledger_key is None and not (tmp_path / pki.LEDGER_KEY).exists()
    elif with_key:
        assert given_key is not None and ident.ledger_key_hex == given_key.public_bytes_raw().hex()
        assert not (tmp_path / pki.LEDGER_KEY).exists()
    else:
        generated = pki.load_ledger_key(tmp_path / pki.LEDGER_KEY)
        assert ident.ledger_key_hex == generated.public_key().public_bytes_raw().hex()
        assert (tmp_path / pki.LEDGER_KEY).stat().st_mode & 0o077 == 0
    assert (tmp_path / pki.CLIENT_KEY).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("bad", ["", "has space", "-leading-dash", "a" * 65, "漢字", "a/b", "x\x00"])
def test_bad_ids_are_refused(ca: Path, tmp_path: Path, bad: str) -> None:
    with pytest.raises(pki.PKIError, match="kiosk id"):
        pki.issue_client(ca, bad, tmp_path)
    assert not (tmp_path / pki.CLIENT_CERT).exists()


def test_server_certificate_is_not_a_client_identity(ca: Path, tmp_path: Path) -> None:
    with pytest.raises(pki.PKIError, match="role"):
        pki.identity_from_der(der(pki.issue_server(ca, "tally.example.jp", tmp_path)))


def test_committee_certificate_cannot_carry_a_ledger_key(ca: Path, tmp_path: Path) -> None:
    with pytest.raises(pki.PKIError, match="only kiosk"):
        pki.issue_client(ca, "c1", tmp_path, pki.CertRole.COMMITTEE, Ed25519PrivateKey.generate().public_key())


def test_revocation_list_reloads_when_the_crl_changes(ca: Path, tmp_path: Path) -> None:
    ident = pki.identity_from_der(der(pki.issue_client(ca, "K-rev", tmp_path)))
    crl = pki.RevocationList(ca)
    assert not crl.is_revoked(ident.serial)
    time.sleep(0.01)  # a new mtime for the rewritten CRL
    assert pki.revoke(ca, "K-rev") == [ident.serial]
    assert crl.is_revoked(ident.serial)
    assert pki.revoke(ca, "K-rev") == []  # already revoked: nothing new, the CRL keeps it
    assert crl.is_revoked(ident.serial)


def test_a_crl_not_signed_by_the_ca_is_refused(ca: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    pki.init_ca(other)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / pki.CA_CERT).write_bytes((ca / pki.CA_CERT).read_bytes())
    (copy / pki.CRL).write_bytes((other / pki.CRL).read_bytes())
    with pytest.raises(pki.PKIError, match="does not verify"):
        pki.RevocationList(copy)


@given(hs.binary(max_size=600))
def test_garbage_certificates_raise_pki_error_only(data: bytes) -> None:
    with pytest.raises(pki.PKIError):
        pki.identity_from_der(data)


def test_init_refuses_to_overwrite(ca: Path) -> None:
    before = (ca / pki.CA_KEY).read_bytes()
    with pytest.raises(pki.PKIError, match="already exists"):
        pki.init_ca(ca)
    assert (ca / pki.CA_KEY).read_bytes() == before
    assert os.stat(ca / pki.CA_KEY).st_mode & 0o077 == 0
