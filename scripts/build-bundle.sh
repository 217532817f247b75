#!/usr/bin/env bash
# Build the one-folder bundle (build.spec → dist/uketsuke/) and prove it works on its own: run
# `uketsuke --version`, the headless demo and `uketsuke selftest` FROM THE BUNDLE, in an empty directory far from
# this checkout. CI runs this through tests/packaging/test_bundle.py (part of scripts/test.sh).
#
# Usage: scripts/build-bundle.sh [--dist DIR] [--work DIR] [--out DIR] [--no-build] [--no-station]
#   --dist DIR    where the bundle goes (default: dist/; the bundle is DIR/uketsuke)
#   --work DIR    PyInstaller's work directory (default: build/pyinstaller)
#   --out DIR     where the demo and self-test leave their files (default: a new temporary directory)
#   --no-build    only smoke-test an existing bundle
#   --no-station  this machine has no card reader or printer (selftest reports them but does not require them)
# The self-test needs pcscd with a reader and a print queue unless --no-station is given: scripts/services.sh start
# provides both (vpcd and cups-pdf) on a test machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

DIST="$ROOT/dist"; WORK="$ROOT/build/pyinstaller"; OUT=""; BUILD=1; STATION=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) DIST="$(realpath -m "$2")"; shift 2 ;;
    --work) WORK="$(realpath -m "$2")"; shift 2 ;;
    --out) OUT="$(realpath -m "$2")"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-station) STATION=(--no-station); shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-bundle: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

PY="$ROOT/.venv/bin/python"
if [ ! -x "$PY" ]; then
  echo "build-bundle: no .venv yet: running scripts/bootstrap.sh"; scripts/bootstrap.sh
fi
BUNDLE="$DIST/uketsuke"
EXE="$BUNDLE/uketsuke"
if [ -f "$BUNDLE/uketsuke.exe" ]; then EXE="$BUNDLE/uketsuke.exe"; fi

step() { printf '== %s\n' "$*"; }

if [ "$BUILD" -eq 1 ]; then
  step "build: pyinstaller build.spec → $BUNDLE"
  mkdir -p "$WORK"
  started=$(date +%s)
  if ! "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$DIST" --workpath "$WORK" build.spec \
      >"$WORK/pyinstaller.log" 2>&1; then
    tail -40 "$WORK/pyinstaller.log"; echo "build-bundle: PyInstaller failed (log: $WORK/pyinstaller.log)" >&2; exit 1
  fi
  # A command module that failed to import while collecting is only a warning to PyInstaller; make it an error.
  if grep -E "Failed to collect submodules for '(kiosk|reader|sync|ballots)[.']|Hidden import '(kiosk|reader|sync|ballots)[.']" \
      "$WORK/pyinstaller.log"; then
    echo "build-bundle: some of our own modules were not collected (see above)" >&2; exit 1
  fi
  EXE="$BUNDLE/uketsuke"; if [ -f "$BUNDLE/uketsuke.exe" ]; then EXE="$BUNDLE/uketsuke.exe"; fi
  echo "built in $(( $(date +%s) - started )) s, $(du -sh "$BUNDLE" | cut -f1)"
fi
[ -x "$EXE" ] || { echo "build-bundle: no bundle at $BUNDLE (build it first)" >&2; exit 1; }

if [ -z "$OUT" ]; then OUT="$(mktemp -d "${TMPDIR:-/tmp}/uketsuke-bundle.XXXXXX")"; fi
mkdir -p "$OUT"
# Run from an empty directory with no path into this checkout: the bundle must need nothing from it.
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/uketsuke-run.XXXXXX")"
trap 'rm -rf "$RUN_DIR"' EXIT
run() { (cd "$RUN_DIR" && env -u PYTHONPATH -u UKETSUKE_RESOURCES -u VIRTUAL_ENV "$EXE" "$@"); }

step "uketsuke --version (from the bundle)"
expected="uketsuke $("$PY" -c 'from kiosk.cli import VERSION; print(VERSION)')"
got="$(run --version)"
echo "$got"
[ "$got" = "$expected" ] || { echo "build-bundle: expected '$expected'" >&2; exit 1; }

step "uketsuke demo --headless (from the bundle) → $OUT/demo"
run demo --headless --out "$OUT/demo" | tee "$OUT/demo.log"

step "uketsuke selftest (from the bundle)"
# Check what the demo left behind — the package against the committee key, and a ledger — when it left them;
# otherwise the ledger item checks that a new ledger could be created in $OUT.
pkg="$(find "$OUT/demo" -maxdepth 3 -name '*.pkg' | sort | head -1)"
pub="$(find "$OUT/demo" -maxdepth 3 -name 'committee.pub' | sort | head -1)"
ledger="$(find "$OUT/demo" -maxdepth 3 -name '*.db' ! -name 'server.db' | sort | head -1)"
selftest_args=(--ledger "${ledger:-$OUT/selftest-ledger.db}" "${STATION[@]}")
if [ -n "$pkg" ] && [ -n "$pub" ]; then selftest_args+=(--package "$pkg" --pubkey "$pub"); fi
run selftest "${selftest_args[@]}" | tee "$OUT/selftest.log"

step "bundle OK: $BUNDLE (demo and self-test output in $OUT)"
