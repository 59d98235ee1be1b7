#!/usr/bin/env bash
# Drop mirrored VXLAN (UDP 4789) in the INPUT path so the kernel sends no ICMP
# port-unreachable back to the mirror sources. Capture (AF_PACKET) happens before
# netfilter, so Zeek and Suricata still see every packet. Idempotent.
set -euo pipefail

PORT="${VXLAN_PORT:-4789}"

if command -v nft >/dev/null 2>&1; then
    nft list table inet tapcase >/dev/null 2>&1 || nft add table inet tapcase
    nft list chain inet tapcase input >/dev/null 2>&1 || \
        nft add chain inet tapcase input '{ type filter hook input priority -10 ; policy accept ; }'
    if ! nft list chain inet tapcase input | grep -q "udp dport ${PORT} drop"; then
        nft add rule inet tapcase input udp dport "${PORT}" drop
    fi
elif command -v iptables >/dev/null 2>&1; then
    iptables -C INPUT -p udp --dport "${PORT}" -j DROP 2>/dev/null || \
        iptables -I INPUT -p udp --dport "${PORT}" -j DROP
else
    echo "firewall.sh: neither nft nor iptables found; ICMP unreachables may reach the sources" >&2
fi
