"""Mutual TLS in front of uvicorn's HTTP protocol, handing the verified client certificate to the application.

uvicorn 0.54 terminates TLS itself but never passes the client certificate to the app, and a refused handshake leaves
no trace. So the server listens in plain TCP and this protocol does the handshake itself (``loop.start_tls``):
- a refused handshake (no certificate, another CA, expired …) is reported to ``on_refused`` with the reason, so it
  can be recorded;
- after a good handshake the connection is handed to uvicorn's HTTP protocol with the peer certificate placed in the
  ASGI TLS extension (``scope["extensions"]["tls"]["client_cert_chain"]``, PEM, as the ASGI spec defines it), so the
  app takes identity from the verified certificate of *this* connection and never from anything the client says.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:  # httptools parses HTTP in C; h11 (pure Python) is the fallback with the same interface
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as HTTPProtocol
except ImportError:  # pragma: no cover - httptools is a pinned dependency
    from uvicorn.protocols.http.h11_impl import H11Protocol as HTTPProtocol  # type: ignore[assignment]

__all__ = ["make_protocol_class", "server_ssl_context"]

RefusedCallback = Callable[[str, str], None]
ASGIApp = Callable[[dict[str, Any], Any, Any], Any]


def server_ssl_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """TLS 1.2+ server context that requires a client certificate issued by the committee CA ``ca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    ctx.load_verify_locations(cafile=str(ca))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: client certificate refused: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        text = exc.reason or str(exc)
        if "PEER_DID_NOT_RETURN_A_CERTIFICATE" in str(exc) or "CERTIFICATE_REQUIRED" in str(exc):
            return "TLS: no client certificate presented"
        return f"TLS: handshake refused: {text}"
    if isinstance(exc, TimeoutError):
        return "TLS: handshake timed out"
    return f"TLS: connection failed during handshake: {exc!r}"


def _with_tls_extension(app: ASGIApp, pem: str, tls_version: str | None, cipher: str | None) -> ASGIApp:
    async def app_with_peer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("extensions", {})["tls"] = {
                "server_cert": None,
                "client_cert_chain": [pem],
                "client_cert_name": None,
                "client_cert_error": None,
                "tls_version": tls_version,
                "cipher_suite": cipher,
            }
        await app(scope, receive, send)

    return app_with_peer


class _HoldingProtocol(asyncio.Protocol):
    """Holds what arrives between the end of the handshake and the hand-over to the HTTP protocol.

    The TLS layer may deliver the first request before ``start_tls`` returns to us; the HTTP protocol must not see it
    before it has its transport and the connection's certificate.
    """

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.eof = False
        self.lost: tuple[Exception | None] | None = None

    def data_received(self, data: bytes) -> None:
        self.data.append(data)

    def eof_received(self) -> bool | None:
        self.eof = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = (exc,)

    def hand_over(self, transport: asyncio.Transport, protocol: asyncio.Protocol) -> None:
        """Make ``protocol`` the receiver and replay what was held."""
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        for chunk in self.data:
            protocol.data_received(chunk)
        if self.eof:
            protocol.eof_received()
        if self.lost is not None:
            protocol.connection_lost(self.lost[0])


def make_protocol_class(ssl_context: ssl.SSLContext, on_refused: RefusedCallback) -> type[asyncio.Protocol]:
    """A uvicorn ``http=`` protocol class that terminates mutual TLS with ``ssl_context``."""

    class MutualTLSProtocol(asyncio.Protocol):
        def __init__(
            self,
            config: Any,
            server_state: Any,
            app_state: dict[str, Any],
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            self._loop = _loop or asyncio.get_event_loop()
            self._inner = HTTPProtocol(config=config, server_state=server_state, app_state=app_state, _loop=self._loop)
            self._tasks = server_state.tasks
            self._handshake_task: asyncio.Task[None] | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            # Nothing may be read in plain text before the TLS layer takes the transport over.
            transport.pause_reading()
            self._handshake_task = self._loop.create_task(self._handshake(transport))

        def data_received(self, data: bytes) -> None:  # pragma: no cover - reading is paused until start_tls
            pass

        def connection_lost(self, exc: Exception | None) -> None:
            # Only reached if the peer leaves before the handshake started; afterwards the TLS layer owns it.
            if self._handshake_task is not None and not self._handshake_task.done():
                self._handshake_task.cancel()

        async def _handshake(self, transport: asyncio.Transport) -> None:
            peer = transport.get_extra_info("peername")
            peer_text = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
            holding = _HoldingProtocol()
            try:
                tls = await self._loop.start_tls(
                    transport, holding, ssl_context, server_side=True, ssl_handshake_timeout=10.0
                )
            except asyncio.CancelledError:
                transport.abort()
                return
            except (OSError, TimeoutError, ConnectionError, EOFError) as exc:
                transport.abort()
                with contextlib.suppress(Exception):
                    on_refused(peer_text, _reason(exc))
                return
            if tls is None or tls.is_closing():
                return
            sslobj = tls.get_extra_info("ssl_object")
            der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
            if not der:  # cannot happen with CERT_REQUIRED; refuse rather than serve an anonymous peer
                tls.abort()
                on_refused(peer_text, "TLS: no client certificate presented")
                return
            cipher = sslobj.cipher()
            self._inner.app = _with_tls_extension(
                self._inner.app, ssl.DER_cert_to_PEM_cert(der), sslobj.version(), cipher[0] if cipher else None
            )
            holding.hand_over(tls, self._inner)

    return MutualTLSProtocol
