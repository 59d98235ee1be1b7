#!/usr/bin/env bash
# Installs the system packages tapcase needs locally: Suricata 7 (Debian bookworm-backports) for
# the sensor's engines, tshark (Wireshark's reader) that the tests use as a second opinion on
# the pcap evidence, and Chromium (Debian's package, no browser download) that loads the report
# page headless in the tests. Idempotent. On systems without apt it prints what to install and
# exits non-zero.
set -euo pipefail

need_suricata=1
if command -v suricata >/dev/null 2>&1 && suricata -V 2>/dev/null | grep -qE 'version [7-9]\.'; then
  need_suricata=0
fi
need_tshark=1
if command -v tshark >/dev/null 2>&1; then need_tshark=0; fi
need_chromium=1
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then need_chromium=0; fi
if [ "$need_suricata" = 0 ] && [ "$need_tshark" = 0 ] && [ "$need_chromium" = 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "tapcase needs Suricata >= 7 (https://suricata.io/download/), tshark (Wireshark) and Chromium on PATH." >&2
  echo "Install them with your system's package manager, then re-run." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo -E"; fi
export DEBIAN_FRONTEND=noninteractive

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
backports=""
if [ "$codename" = "bookworm" ] && [ "$need_suricata" = 1 ]; then
  src=/etc/apt/sources.list.d/tapcase-backports.sources
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Reuse the already configured Debian mirror.
    mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1 | awk '{print $2}')
    mirror=${mirror:-$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1 | awk '{print $2}')}
    mirror=${mirror:-http://deb.debian.org/debian}
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" | $SUDO tee "$src" >/dev/null
  fi
  backports="bookworm-backports"
fi
$SUDO apt-get update -qq
if [ "$need_suricata" = 1 ]; then
  if [ -n "$backports" ]; then
    $SUDO apt-get install -y -qq -t "$backports" suricata >/dev/null
  else
    $SUDO apt-get install -y -qq suricata >/dev/null
  fi
fi
if [ "$need_tshark" = 1 ]; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
  $SUDO apt-get install -y -qq --no-install-recommends tshark >/dev/null
fi
if [ "$need_chromium" = 1 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
suricata -V
tshark --version | head -n1
chromium --version 2>/dev/null | head -n1 || true
