#!/usr/bin/env bash
# Install the system packages the platform needs (Debian 12), only those missing.
# Idempotent: when everything is present it does nothing and touches no network.
# Output goes to a log file; one line is printed per step.
set -euo pipefail

LOG="${INSTALL_LOG:-${TMPDIR:-/tmp}/congdoan-install-system-$(id -u).log}"

step() { printf '[install-system] %s\n' "$*"; }

# PostgreSQL server binaries (throwaway test servers), Chromium (e2e tests),
# Noto fonts (Vietnamese in WeasyPrint PDFs), Pango/HarfBuzz (WeasyPrint).
# libicu-dev + pkg-config + g++: PyICU (Vietnamese collation) builds against the system ICU.
WANTED=(postgresql chromium fonts-noto-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libicu-dev pkg-config g++)
# Node.js/npm only when there is no npm at all (NodeSource's nodejs ships its own npm).
if ! command -v npm >/dev/null 2>&1; then
    WANTED+=(nodejs npm)
fi
# Debian's own python3 needs python3-venv for `python3 -m venv` (a pyenv/python.org build has ensurepip).
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    WANTED+=(python3-venv)
fi

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

MISSING=()
for pkg in "${WANTED[@]}"; do
    installed "$pkg" || MISSING+=("$pkg")
done

if [ "${#MISSING[@]}" -eq 0 ]; then
    step "system packages: all present"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    step "missing: ${MISSING[*]} (no apt-get here; install them with your package manager)"
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    step "missing: ${MISSING[*]}"
    step "run as root:  apt-get update && apt-get install -y --no-install-recommends ${MISSING[*]}"
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
: >"$LOG"
step "apt-get update (log: $LOG)"
if ! apt-get update >>"$LOG" 2>&1; then
    step "apt-get update failed; see $LOG"
    tail -n 20 "$LOG" >&2
    exit 1
fi

step "apt-get install ${MISSING[*]}"
if ! apt-get install -y --no-install-recommends "${MISSING[@]}" >>"$LOG" 2>&1; then
    step "apt-get install failed; see $LOG"
    tail -n 20 "$LOG" >&2
    exit 1
fi
step "system packages: installed ${MISSING[*]}"
