"""The software card as a card in pcscd's virtual reader (vsmartcard-vpcd).

We are the client: connecting to vpcd (TCP 127.0.0.1:35963 for "Virtual PCD 00 00") puts the card in the reader,
closing the connection takes it out. Frames both ways are a 2-byte big-endian length and a payload. A 1-byte payload
from vpcd is a control code (00 power off, 01 power on, 02 reset, 04 ATR request; only 04 is answered, with the ATR);
anything longer is a command APDU, answered with the response APDU.

TCP_NODELAY, and TCP_QUICKACK after every receive: without them each APDU waits ~40 ms for a delayed ACK.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

from reader.softcard import ATR, SoftwareCard

__all__ = ["DEFAULT_PORT", "VpcdCard", "VpcdError"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 35963
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class VpcdError(OSError):
    """vpcd cannot be reached or broke the protocol."""


class VpcdCard:
    """Connects a ``SoftwareCard`` to vpcd. ``insert``/``remove`` may be called from any thread.

    ``remove_after`` (tests): take the card out, without answering, when that many more APDUs have arrived.
    """

    def __init__(self, card: SoftwareCard, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.remove_after: int | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def inserted(self) -> bool:
        """Whether the card is in the virtual reader (connected to vpcd)."""
        return self._sock is not None

    def insert(self) -> None:
        """Put the card in the reader. Raises ``VpcdError`` when vpcd does not accept the connection."""
        with self._lock:
            if self._sock is not None:
                return
            try:
                sock = socket.create_connection((self.host, self.port), timeout=5)
            except OSError as exc:
                raise VpcdError(f"cannot reach vpcd at {self.host}:{self.port}: {exc.strerror or exc}") from None
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            self._thread = threading.Thread(target=self._serve, args=(sock,), name="vpcd-card", daemon=True)
            self._thread.start()
        log.info("card inserted into vpcd %s:%d", self.host, self.port)

    def remove(self) -> None:
        """Take the card out of the reader (closes the connection; the card loses power)."""
        with self._lock:
            sock, thread = self._sock, self._thread
        if sock is not None:
            self._drop(sock)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _drop(self, sock: socket.socket) -> None:
        """Close ``sock`` if it is still the card's connection; safe from the serving thread itself."""
        with self._lock:
            if self._sock is not sock:
                return
            self._sock = None
            self._thread = None
        with contextlib.suppress(OSError):  # already closed by the other side
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        self.card.power_off()
        log.info("card removed from vpcd")

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if _QUICKACK is not None:
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            if not chunk:
                return None
            buf += chunk
        return buf

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                header = self._recv_exact(sock, 2)
                if header is None:
                    break
                payload = self._recv_exact(sock, int.from_bytes(header, "big"))
                if payload is None:
                    break
                if len(payload) > 1 and self.remove_after is not None:
                    if self.remove_after <= 0:
                        self.remove_after = None
                        break  # leave without answering, as a card pulled away mid-command does
                    self.remove_after -= 1
                reply = self._handle(payload)
                if reply is None:
                    continue
                sock.sendall(len(reply).to_bytes(2, "big") + reply)
        except OSError:
            pass  # the connection was closed by remove() or by vpcd
        finally:
            self._drop(sock)

    def _handle(self, payload: bytes) -> bytes | None:
        if len(payload) == 1:
            code = payload[0]
            if code == CTRL_OFF:
                self.card.power_off()
            elif code == CTRL_ON:
                self.card.power_on()
            elif code == CTRL_RESET:
                self.card.reset()
            elif code == CTRL_ATR:
                return ATR
            else:
                log.warning("vpcd sent unknown control code %02X", code)
            return None
        return self.card.process(payload)
