#!/usr/bin/env bash
# Installs the system packages tapcase needs locally: Suricata 7 (Debian bookworm-backports).
# Idempotent. On systems without apt it prints what to install and exits non-zero.
set -euo pipefail

if command -v suricata >/dev/null 2>&1 && suricata -V 2>/dev/null | grep -qE 'version [7-9]\.'; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "tapcase needs Suricata >= 7 on PATH (https://suricata.io/download/)." >&2
  echo "Install it with your system's package manager, then re-run." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" = "bookworm" ]; then
  src=/etc/apt/sources.list.d/tapcase-backports.sources
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Reuse the already configured Debian mirror.
    mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1 | awk '{print $2}')
    mirror=${mirror:-$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')}
    mirror=${mirror:-http://deb.debian.org/debian}
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" | $SUDO tee "$src" >/dev/null
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports suricata >/dev/null
else
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq suricata >/dev/null
fi
suricata -V
