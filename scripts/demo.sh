#!/usr/bin/env bash
# The demo: a sample election, the software My Number card, an embedded tally server on SQLite and the kiosk.
# Without a display it runs the headless reception scenario. Extra arguments go to `uketsuke demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/uketsuke demo "$@"
