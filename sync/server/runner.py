"""Running the tally server: in the foreground (``uketsuke server``) or embedded in a thread (demo, tests, bench)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from sync.pki import CA_CERT, SERVER_CERT, SERVER_KEY, PKIError
from sync.server.app import ServedPackage, create_app
from sync.server.refusals import RefusalLimiter, RefusalLimits
from sync.server.storage import Database, op_reject_counted
from sync.server.tls import make_protocol_class, server_ssl_context

__all__ = ["EmbeddedServer", "RefusalLimiter", "RefusalLimits", "ServerTLS", "serve", "start_embedded"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerTLS:
    """The server's certificate directory (server.crt, server.key) and the CA directory (ca.crt, crl.pem)."""

    tls_dir: Path
    ca_dir: Path

    def check(self) -> None:
        """Raise PKIError naming the first missing file."""
        for p in (self.tls_dir / SERVER_CERT, self.tls_dir / SERVER_KEY, self.ca_dir / CA_CERT):
            if not p.is_file():
                raise PKIError(f"{p}: not found")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and without it
    # every response (headers and body are separate writes) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _config(
    package: ServedPackage,
    db: Database,
    tls: ServerTLS | None,
    log_level: str,
    refusals: RefusalLimiter,
    graceful_s: int = 3,
) -> tuple[uvicorn.Config, Any]:
    if tls is not None:
        tls.check()
        app = create_app(package, db, ca_dir=tls.ca_dir, refusals=refusals)
        ctx = server_ssl_context(tls.tls_dir / SERVER_CERT, tls.tls_dir / SERVER_KEY, tls.ca_dir / CA_CERT)
        server = app.state.server
        http: Any = make_protocol_class(
            ctx, lambda peer, reason: server.record_rejection_threadsafe("tls", peer, reason)
        )
    else:
        app = create_app(package, db, demo_loopback=True, refusals=refusals)
        http = "auto"  # httptools when installed
    config = uvicorn.Config(
        app,
        http=http,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=120,  # kiosks keep one connection open; a new TLS handshake costs ~25 requests of CPU
        timeout_graceful_shutdown=graceful_s,
        loop="asyncio",
    )
    return config, app


def _limiter(refusals: RefusalLimits | RefusalLimiter | None) -> RefusalLimiter:
    if isinstance(refusals, RefusalLimiter):
        return refusals
    return RefusalLimiter(refusals)


def _write_still_counted(refusals: RefusalLimiter, db: Database) -> None:
    """Normally the app writes what was only counted at its shutdown; this covers a server stopped without it
    (start-up failure, a forced exit), before the database closes."""
    left = refusals.drain()
    if left:
        db.submit_event(lambda c: op_reject_counted(c, left)).result(timeout=30)


@dataclass
class EmbeddedServer:
    """A server running in a background thread of this process."""

    host: str
    port: int
    db: Database
    app: Any
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def url(self) -> str:
        """Base URL (https when TLS is on)."""
        scheme = "https" if self.app.state.server.revocations is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving, write the refusals still only counted, finish queued writes, close the database."""
        self._server.should_exit = True
        self._thread.join(timeout=15)
        try:
            _write_still_counted(self.app.state.server.refusals, self.db)
        finally:
            self.db.close()


def start_embedded(
    package: ServedPackage,
    db_url: str,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: ServerTLS | None = None,
    *,
    log_level: str = "warning",
    ready_timeout: float = 15.0,
    refusals: RefusalLimits | RefusalLimiter | None = None,
) -> EmbeddedServer:
    """Start the server in a thread and return once it accepts connections (``port=0``: any free port).

    Without ``tls`` it serves plain HTTP and identifies callers by header: demo only, and loopback only.
    ``refusals``: the limits on refusals recorded in full (default ``RefusalLimits()``), or a limiter to use.
    """
    if tls is None and host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError(f"a server without TLS may only listen on loopback, not {host}")
    db = Database(db_url, package.package_hash)
    try:
        config, app = _config(package, db, tls, log_level, _limiter(refusals), graceful_s=1)
        sock = _bind(host, port)
    except BaseException:
        db.close()
        raise
    server = uvicorn.Server(config)
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        async def main() -> None:
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not task.done():
                await asyncio.sleep(0.01)
            started.set()
            await task

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the starter; a dying server thread must not be silent
            failure.append(exc)
            log.exception("embedded server stopped with an error")
        finally:
            started.set()
            sock.close()

    thread = threading.Thread(target=run, name="uketsuke-server", daemon=True)
    thread.start()
    if not started.wait(ready_timeout) or failure or not server.started:
        server.should_exit = True
        thread.join(timeout=5)
        db.close()
        raise RuntimeError(f"server did not start: {failure[0] if failure else 'timeout'}")
    return EmbeddedServer(host, sock.getsockname()[1], db, app, server, thread)


def serve(
    package: ServedPackage,
    db_url: str,
    host: str,
    port: int,
    tls: ServerTLS | None,
    log_level: str = "info",
    refusals: RefusalLimits | None = None,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM. ``refusals``: the limits on refusals recorded in full."""
    db = Database(db_url, package.package_hash)
    limiter = _limiter(refusals)
    try:
        config, _app = _config(package, db, tls, log_level, limiter)
        sock = _bind(host, port)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        try:
            _write_still_counted(limiter, db)
        finally:
            db.close()
