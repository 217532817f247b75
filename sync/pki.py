"""The committee's own certificate authority for mutual TLS between kiosks and the tally server.

Layout on disk (all PEM):
- CA directory: ``ca.crt``, ``ca.key`` (0600), ``crl.pem`` (signed revocation list, rewritten by ``revoke``) and
  ``issued.json`` (which serials were issued to which kiosk id, so ``revoke --kiosk-id`` finds them).
- server directory: ``server.crt``, ``server.key``, ``ca.crt``.
- client directory (kiosk or committee): ``client.crt``, ``client.key``, ``ca.crt``; a kiosk directory also holds
  ``ledger.key``, the kiosk's Ed25519 ledger signing key, unless an existing public key was given.

A client certificate names its holder in the subject (CN = kiosk id, OU = role) and, for the server's authorisation,
in SAN URIs: ``urn:uketsuke:role:<role>``, ``urn:uketsuke:kiosk:<id>`` and, for kiosks, the ledger key
``urn:uketsuke:ledger-key:ed25519:<hex>``. Binding the ledger key in the certificate means the server never has to
trust a key announced over the wire: kiosk A's certificate cannot carry kiosk B's key.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sync import keys

__all__ = [
    "CA_CERT",
    "CA_KEY",
    "CLIENT_CERT",
    "CLIENT_KEY",
    "CRL",
    "LEDGER_KEY",
    "SERVER_CERT",
    "SERVER_KEY",
    "CertRole",
    "ClientIdentity",
    "PKIError",
    "RevocationList",
    "identity_from_der",
    "init_ca",
    "issue_client",
    "issue_server",
    "load_ledger_key",
    "revoke",
]

CA_CERT, CA_KEY, CRL, ISSUED = "ca.crt", "ca.key", "crl.pem", "issued.json"
SERVER_CERT, SERVER_KEY = "server.crt", "server.key"
CLIENT_CERT, CLIENT_KEY, LEDGER_KEY = "client.crt", "client.key", "ledger.key"

_URN = "urn:uketsuke:"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CA_YEARS, _LEAF_DAYS, _CRL_DAYS = 10, 400, 400


class PKIError(ValueError):
    """A CA, certificate or key that cannot be used; the message says which file and why."""


class CertRole(enum.StrEnum):
    """What a client certificate authorises: kiosks sync; committee certificates reach the committee endpoints."""

    KIOSK = "kiosk"
    COMMITTEE = "committee"


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """Who is on the other end of a verified TLS connection, as the certificate says."""

    client_id: str
    role: CertRole
    serial: int
    ledger_key: Ed25519PublicKey | None  # kiosks only

    @property
    def ledger_key_hex(self) -> str | None:
        """The Ed25519 ledger public key as 64 hex digits (None for committee certificates)."""
        if self.ledger_key is None:
            return None
        return self.ledger_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_id(value: str, what: str) -> str:
    if not _ID_RE.match(value):
        raise PKIError(f"{what} {value!r}: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable only by its owner, atomically (a crash never leaves half a key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_public(path: Path, data: bytes) -> None:
    _write_private(path, data)
    path.chmod(0o644)


def _pem_key(key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_ca(ca_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = ca_dir / CA_CERT, ca_dir / CA_KEY
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise PKIError(f"{exc.filename}: not found (run 'uketsuke pki init --out {ca_dir}' first)") from None
    except ValueError as exc:
        raise PKIError(f"{ca_dir}: CA certificate or key unreadable: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PKIError(f"{key_path}: not an EC private key")
    return cert, key


def init_ca(out: Path, name: str = "Uketsuke election committee CA") -> Path:
    """Create a new CA in ``out`` (refuses to overwrite an existing one); return the CA certificate path."""
    if (out / CA_KEY).exists() or (out / CA_CERT).exists():
        raise PKIError(f"{out}: a CA already exists here; refusing to overwrite it")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign + cRLSign only
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(out / CA_KEY, _pem_key(key))
    _write_public(out / CA_CERT, cert.public_bytes(serialization.Encoding.PEM))
    _write_public(out / ISSUED, b"{}\n")
    _write_crl(out, cert, key, revoked=[])
    return out / CA_CERT


def _leaf(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    san: Iterable[x509.GeneralName],
    usage: x509.ObjectIdentifier,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=_LEAF_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(list(san)), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def issue_server(ca_dir: Path, name: str, out: Path) -> Path:
    """Issue the tally server's certificate for host ``name`` (DNS name or IP address); return its path."""
    import ipaddress

    ca_cert, ca_key = _load_ca(ca_dir)
    san: list[x509.GeneralName]
    try:
        san = [x509.IPAddress(ipaddress.ip_address(name))]
    except ValueError:
        if not re.match(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$", name):
            raise PKIError(f"server name {name!r}: not a host name or IP address") from None
        san = [x509.DNSName(name)]
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "server")]
    )
    cert, key = _leaf(ca_cert, ca_key, subject, san, ExtendedKeyUsageOID.SERVER_AUTH)
    _write_private(out / SERVER_KEY, _pem_key(key))
    _write_public(out / SERVER_CERT, cert.public_bytes(serialization.Encoding.PEM))
    _write_public(out / CA_CERT, ca_cert.public_bytes(serialization.Encoding.PEM))
    _record_issued(ca_dir, f"server:{name}", cert.serial_number)
    return out / SERVER_CERT


def issue_client(
    ca_dir: Path,
    client_id: str,
    out: Path,
    role: CertRole = CertRole.KIOSK,
    ledger_key: Ed25519PublicKey | None = None,
) -> Path:
    """Issue a client certificate; for a kiosk, bind its Ed25519 ledger key (generated into ``out`` if not given)."""
    _check_id(client_id, "kiosk id" if role is CertRole.KIOSK else "committee id")
    ca_cert, ca_key = _load_ca(ca_dir)
    san: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(f"{_URN}role:{role.value}"),
        x509.UniformResourceIdentifier(f"{_URN}{role.value}:{client_id}"),
    ]
    if role is CertRole.KIOSK:
        if ledger_key is None:
            out.mkdir(parents=True, exist_ok=True)
            signing = keys.generate_key()
            keys.save_private_key(signing, out / LEDGER_KEY)
            ledger_key = signing.public_key()
        raw = ledger_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
        san.append(x509.UniformResourceIdentifier(f"{_URN}ledger-key:ed25519:{raw}"))
    elif ledger_key is not None:
        raise PKIError("only kiosk certificates carry a ledger key")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, client_id),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role.value),
        ]
    )
    cert, key = _leaf(ca_cert, ca_key, subject, san, ExtendedKeyUsageOID.CLIENT_AUTH)
    _write_private(out / CLIENT_KEY, _pem_key(key))
    _write_public(out / CLIENT_CERT, cert.public_bytes(serialization.Encoding.PEM))
    _write_public(out / CA_CERT, ca_cert.public_bytes(serialization.Encoding.PEM))
    _record_issued(ca_dir, f"{role.value}:{client_id}", cert.serial_number)
    return out / CLIENT_CERT


def load_ledger_key(path: Path) -> Ed25519PrivateKey:
    """Read a kiosk's Ed25519 ledger signing key written by ``issue_client`` (see ``sync.keys``)."""
    try:
        return keys.load_private_key(path)
    except keys.KeyFileError as exc:
        raise PKIError(str(exc)) from None


def _issued(ca_dir: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((ca_dir / ISSUED).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise PKIError(f"{ca_dir / ISSUED}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PKIError(f"{ca_dir / ISSUED}: expected an object")
    return {str(k): [str(s) for s in v] for k, v in data.items()}


def _record_issued(ca_dir: Path, holder: str, serial: int) -> None:
    data = _issued(ca_dir)
    data.setdefault(holder, []).append(format(serial, "x"))
    _write_public(ca_dir / ISSUED, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


def _write_crl(
    ca_dir: Path,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    revoked: Iterable[x509.RevokedCertificate],
) -> None:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=_CRL_DAYS))
    )
    for r in revoked:
        builder = builder.add_revoked_certificate(r)
    crl = builder.sign(ca_key, hashes.SHA256())
    _write_public(ca_dir / CRL, crl.public_bytes(serialization.Encoding.PEM))


def revoke(ca_dir: Path, client_id: str, role: CertRole = CertRole.KIOSK) -> list[int]:
    """Revoke every certificate issued to ``client_id``; rewrite the CRL; return the serials newly revoked."""
    ca_cert, ca_key = _load_ca(ca_dir)
    serials = [int(s, 16) for s in _issued(ca_dir).get(f"{role.value}:{client_id}", [])]
    if not serials:
        raise PKIError(f"{ca_dir / ISSUED}: no certificate was issued to {role.value} {client_id!r}")
    existing = _read_crl(ca_dir, ca_cert)
    already = {r.serial_number for r in existing}
    now = _now()
    entries = list(existing)
    fresh = [s for s in serials if s not in already]
    for s in fresh:
        entries.append(x509.RevokedCertificateBuilder().serial_number(s).revocation_date(now).build())
    _write_crl(ca_dir, ca_cert, ca_key, entries)
    return fresh


def _read_crl(ca_dir: Path, ca_cert: x509.Certificate) -> list[x509.RevokedCertificate]:
    path = ca_dir / CRL
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except FileNotFoundError:
        return []
    except ValueError as exc:
        raise PKIError(f"{path}: not a PEM CRL: {exc}") from None
    pub = ca_cert.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or not crl.is_signature_valid(pub):
        raise PKIError(f"{path}: CRL signature does not verify against {ca_dir / CA_CERT}")
    return list(crl)


class RevocationList:
    """The CA directory's CRL, re-read whenever the file changes (``pki revoke`` takes effect without a restart)."""

    def __init__(self, ca_dir: Path) -> None:
        self._dir = ca_dir
        self._cert = x509.load_pem_x509_certificate((ca_dir / CA_CERT).read_bytes())
        self._stamp: tuple[int, int] | None = None
        self._serials: frozenset[int] = frozenset()
        self.refresh()

    def refresh(self) -> None:
        """Reload the CRL if its file changed; a broken CRL keeps the previous list and raises PKIError."""
        try:
            st = (self._dir / CRL).stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if stamp == self._stamp:
            return
        self._serials = frozenset(r.serial_number for r in _read_crl(self._dir, self._cert))
        self._stamp = stamp

    def is_revoked(self, serial: int) -> bool:
        """True if ``serial`` is on the current CRL (checks the file for changes first)."""
        self.refresh()
        return serial in self._serials


def identity_from_der(der: bytes) -> ClientIdentity:
    """Read the holder of a (TLS-verified) client certificate; raise PKIError if it is not one of ours."""
    try:
        cert = x509.load_der_x509_certificate(der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound) as exc:
        raise PKIError(f"client certificate unusable: {exc}") from None
    uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier) if u.startswith(_URN)]
    roles = [u.removeprefix(f"{_URN}role:") for u in uris if u.startswith(f"{_URN}role:")]
    if len(roles) != 1 or roles[0] not in {r.value for r in CertRole}:
        raise PKIError("client certificate carries no single known role")
    role = CertRole(roles[0])
    ids = [u.removeprefix(f"{_URN}{role.value}:") for u in uris if u.startswith(f"{_URN}{role.value}:")]
    if len(ids) != 1:
        raise PKIError(f"client certificate does not name exactly one {role.value}")
    client_id = _check_id(ids[0], "certificate id")
    ledger: Ed25519PublicKey | None = None
    if role is CertRole.KIOSK:
        keys = [u.removeprefix(f"{_URN}ledger-key:ed25519:") for u in uris if u.startswith(f"{_URN}ledger-key:")]
        try:
            if len(keys) != 1:
                raise ValueError("expected exactly one")
            ledger = Ed25519PublicKey.from_public_bytes(bytes.fromhex(keys[0]))
        except ValueError as exc:
            raise PKIError(f"kiosk certificate for {client_id!r}: ledger key unusable ({exc})") from None
    return ClientIdentity(client_id=client_id, role=role, serial=cert.serial_number, ledger_key=ledger)
