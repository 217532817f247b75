#!/usr/bin/env bash
# Screenshots of every kiosk screen under Xvfb (real X11 windows and fonts), saved as CI artefacts in
# artifacts/screenshots/ (ignored by git). Look at them: layout, Japanese text, contrast, nothing cut off.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/screenshots}"
mkdir -p "$out"
# Only this script's own pictures (NN-name.png): other sets live beside them (committee/, from
# scripts/committee-screenshots.sh) and are not ours to delete.
rm -f "$out"/[0-9][0-9]-*.png
export UKETSUKE_SCREENSHOTS="$(realpath "$out")"
export QT_QPA_PLATFORM=xcb
# -a picks a free display number; the X server is stopped when the command ends.
xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" \
    .venv/bin/python -m pytest -q -p no:cacheprovider tests/ui/test_screenshots.py
ls -1 "$out"/[0-9][0-9]-*.png
