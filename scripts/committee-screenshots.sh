#!/usr/bin/env bash
# Screenshots of the committee view (every tab, after one refresh against a real server holding a seeded day) under
# Xvfb (real X11 windows and fonts), saved in artifacts/screenshots/committee/ (ignored by git). Look at them:
# layout, Japanese text, the chart, nothing cut off.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/screenshots/committee}"
rm -rf "$out"
mkdir -p "$out"
export UKETSUKE_SCREENSHOTS="$(realpath "$out")"
export QT_QPA_PLATFORM=xcb
xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
    .venv/bin/python -m pytest -q -p no:cacheprovider tests/committee/test_committee_ui.py -k screenshots
ls -1 "$out"
