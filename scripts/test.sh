#!/usr/bin/env bash
# The whole test suite: set-up, services (pcscd+vpcd, cupsd, PostgreSQL), lint, types, pytest.
# Services are stopped by PID on exit. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
trap 'scripts/services.sh stop >/dev/null' EXIT  # quietly: pytest's summary stays the last line
scripts/services.sh start
# shellcheck disable=SC1091
source .services/env
export UKETSUKE_REQUIRE_SERVICES=1   # in this run a missing service is a failure, not a skip
export QT_QPA_PLATFORM=offscreen
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
if [ $# -eq 0 ]; then
  # Every kiosk and committee screen under Xvfb, kept as CI artefacts (artifacts/screenshots/) for people to look at.
  echo "== screenshots (Xvfb) -> artifacts/screenshots/"
  QT_QPA_PLATFORM=xcb scripts/screenshots.sh >/dev/null
  QT_QPA_PLATFORM=xcb scripts/committee-screenshots.sh >/dev/null
  echo "$(find artifacts/screenshots -name '*.png' | wc -l) screenshots"
fi
echo "== pytest"; .venv/bin/python -m pytest "$@"
