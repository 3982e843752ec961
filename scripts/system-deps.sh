#!/usr/bin/env bash
# Install the system libraries Qt needs and PostgreSQL's server when they are missing
# (Debian/Ubuntu, as root), then prove Qt can start. Fails loudly: a component that
# cannot start is never skipped.
set -euo pipefail
PY="${1:-.venv/bin/python}"

qt_starts() {
  QT_QPA_PLATFORM=offscreen "$PY" - <<'PYEOF' >/dev/null 2>&1
from PySide6.QtWidgets import QApplication
from PySide6.QtGui import QPdfWriter
app = QApplication([])
PYEOF
}

# PostgreSQL's server binaries: the store's tests start their own throwaway cluster from
# them (server/pgcluster.py). Missing binaries are installed; the tests fail, never skip,
# when no cluster can start.
pg_installed() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1
}

apt_install() {
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    return 1
  fi
}

if ! pg_installed; then
  echo "PostgreSQL's server is not installed: installing Debian's 'postgresql' package" >&2
  # policy-rc.d stops the package starting a system cluster: the tests start their own.
  if [ "$(id -u)" = "0" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  if ! apt_install postgresql; then
    echo "FATAL: please install PostgreSQL's server (Debian: apt-get install postgresql)." >&2
    exit 1
  fi
  if ! pg_installed; then
    echo "FATAL: PostgreSQL's server binaries are still missing after installing them." >&2
    exit 1
  fi
fi

if qt_starts; then
  exit 0
fi

echo "Qt cannot start yet: installing the system libraries it needs" >&2
PKGS="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 \
libxcb-randr0 libxcb-render-util0 libxcb-image0 fonts-dejavu-core"
# shellcheck disable=SC2086 # the list is meant to split into words
if ! apt_install $PKGS; then
  echo "Please install Qt's runtime libraries: $PKGS" >&2
  exit 1
fi

if ! qt_starts; then
  echo "FATAL: Qt still cannot start after installing its libraries." >&2
  QT_QPA_PLATFORM=offscreen "$PY" -c "from PySide6.QtWidgets import QApplication; QApplication([])"
  exit 1
fi
