"""A tally-server process for the tests: ``python tests/sync/server_proc.py --db URL --pki DIR --port N``.

Prints ``READY <port>`` once it accepts connections; stops on SIGTERM (SIGKILL in the crash tests).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synctest_helpers import PKI, make_package

from sync.server.runner import ServerTLS, start_embedded


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--pki", type=Path, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--package-tag", default="test")
    args = ap.parse_args()
    pki = PKI(args.pki)
    server = start_embedded(
        make_package(args.package_tag), args.db, "127.0.0.1", args.port, ServerTLS(pki.server, pki.ca)
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"READY {server.port}", flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
