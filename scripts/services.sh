#!/usr/bin/env bash
# Start or stop the services the integration tests need, each by PID (never by name):
#   pcscd with the vsmartcard virtual reader, cupsd with a cups-pdf queue, a throw-away PostgreSQL cluster.
# Usage: scripts/services.sh start|stop|status.  `start` writes .services/env (source it) with:
#   UKETSUKE_TEST_PCSCD=1, UKETSUKE_TEST_CUPS_QUEUE, UKETSUKE_TEST_CUPS_OUT, UKETSUKE_TEST_PG (a DSN).
set -euo pipefail
cd "$(dirname "$0")/.."
STATE="$PWD/.services"
SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"

wait_for() { # wait_for SECONDS CMD...
  local t=$(( $1 * 10 )); shift
  for _ in $(seq 1 "$t"); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.1; done
  return 1
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_pcscd() {
  if alive "$STATE/pcscd.pid"; then return; fi
  if pgrep -x pcscd >/dev/null; then
    echo "services: a pcscd not started by us is running; using it"; return
  fi
  $SUDO mkdir -p /run/pcscd
  $SUDO pcscd --foreground --apdu >"$STATE/pcscd.log" 2>&1 &
  echo $! >"$STATE/pcscd.pid"
  wait_for 10 test -S /run/pcscd/pcscd.comm || { echo "services: pcscd did not start"; cat "$STATE/pcscd.log"; exit 1; }
}

start_cups() {
  if alive "$STATE/cupsd.pid"; then return; fi
  $SUDO mkdir -p /run/cups
  $SUDO cupsd -f >"$STATE/cupsd.log" 2>&1 &
  echo $! >"$STATE/cupsd.pid"
  wait_for 15 lpstat -r || { echo "services: cupsd did not start"; cat "$STATE/cupsd.log"; exit 1; }
  local ppd
  # awk reads to the end: exiting at the first match would SIGPIPE lpinfo, and under pipefail + set -e that silently
  # ended this script before PostgreSQL was started (seen once, depending on timing).
  ppd="$(lpinfo -m 2>/dev/null | awk '/CUPS-PDF/ && !found {print $1; found = 1}' || true)"
  $SUDO lpadmin -p UKETSUKE_PDF -E -v cups-pdf:/ -m "${ppd:-lsb/usr/cups-pdf/CUPS-PDF_opt.ppd}"
  $SUDO cupsenable UKETSUKE_PDF; $SUDO cupsaccept UKETSUKE_PDF
}

start_pg() {
  if alive "$STATE/pg.pid"; then return; fi
  [ -n "$PGBIN" ] || { echo "services: PostgreSQL binaries not found"; exit 1; }
  local dir="$STATE/pg" port
  rm -rf "$dir"; mkdir -p "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local as=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; chmod 700 "$dir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$STATE/pg-init.log" 2>&1
  "${as[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" start >/dev/null
  head -1 "$dir/data/postmaster.pid" >"$STATE/pg.pid"
  echo "$port" >"$STATE/pg.port"
}

write_env() {
  {
    echo "export UKETSUKE_TEST_PCSCD=1"
    echo "export UKETSUKE_TEST_CUPS_QUEUE=UKETSUKE_PDF"
    echo "export UKETSUKE_TEST_CUPS_OUT=/var/spool/cups-pdf/ANONYMOUS"
    echo "export UKETSUKE_TEST_PG=postgresql://postgres@127.0.0.1:$(cat "$STATE/pg.port")/postgres"
  } >"$STATE/env"
}

stop_one() {
  local f="$STATE/$1.pid"
  if alive "$f"; then
    local pid; pid="$(cat "$f")"
    $SUDO kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && $SUDO kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

case "${1:-}" in
  start)
    mkdir -p "$STATE"
    start_pcscd; start_cups; start_pg; write_env
    echo "services: started (source $STATE/env)";;
  stop)
    if [ -f "$STATE/pg.pid" ] && [ -d "$STATE/pg/data" ]; then
      as=(); if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
      "${as[@]}" "$PGBIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    stop_one pg; stop_one cupsd; stop_one pcscd
    echo "services: stopped";;
  status)
    for s in pcscd cupsd pg; do if alive "$STATE/$s.pid"; then echo "$s: running ($(cat "$STATE/$s.pid"))"; else echo "$s: stopped"; fi; done;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2;;
esac
