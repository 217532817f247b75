#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine: system packages (as root or via sudo),
# a virtualenv in .venv/ with the pinned Python packages, and the project installed editable.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # PC/SC: pyscard builds against libpcsclite; pcscd + vpcd give the virtual reader for tests and the demo
  gcc python3-dev python3-venv swig libpcsclite-dev libpcsclite1 pcscd vsmartcard-vpcd pcsc-tools
  # Japanese fonts: IPAex for PDFs (also shipped in resources/fonts), Noto CJK for Qt
  fonts-ipaexfont fonts-noto-cjk
  # PDF checks, printing through a real CUPS queue, PostgreSQL for the server tests
  poppler-utils poppler-data cups printer-driver-cups-pdf postgresql
  # Qt under Xvfb (screenshots) and offscreen
  xvfb xauth imagemagick libegl1 libgl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0
  libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-render0 libxcb-shm0 libxcb-sync1 libxcb-util1
  iproute2 procps
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # cups' post-install tries to reload a daemon that is not running without systemd: harmless
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.uketsuke-lock-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.lock
  .venv/bin/pip install -q --no-deps -e .
  rm -f .venv/.uketsuke-lock-*
  touch "$stamp"
fi
