#!/usr/bin/env bash
# Install the tapcase sensor onto an Amazon Linux 2023 build instance (EC2 Image Builder
# component.yaml runs this; it also works by hand over SSM on a plain AL2023 instance).
#
#   install.sh SENSOR_IMAGE_DIR
#
# SENSOR_IMAGE_DIR is the sensor_image/ directory of the sensor bundle (make sensor-bundle) or of a
# checkout: the agent ships tapcase_contract from ../functions/tapcase_contract beside it.
#
# Result: Docker + the compose plugin, both engine images built (from pinned upstream images,
# so nothing is pulled when a sensor launches), the agent in /opt/tapcase-sensor/venv, and
# the systemd units enabled. The Suricata image holds the ET Open ruleset (fetched by suricata-update
# at build time, suricata/Dockerfile); TAPCASE_ET_OPEN=0 leaves it out, TAPCASE_ET_OPEN_SHA256 pins it.
set -euo pipefail

SRC="$(cd "${1:?usage: install.sh SENSOR_IMAGE_DIR}" && pwd)"
if [[ ! -f "${SRC}/../functions/tapcase_contract/__init__.py" ]]; then
    echo "install.sh: ${SRC}/../functions/tapcase_contract is missing: use the sensor bundle (make sensor-bundle)" >&2
    exit 2
fi
DEST=/opt/tapcase-sensor
COMPOSE_VERSION="${COMPOSE_VERSION:-v2.29.7}"
SURICATA_IMAGE=tapcase/sensor-suricata:7.0.10
ZEEK_IMAGE=tapcase/sensor-zeek:8.0.8

log() { echo "[tapcase-sensor install] $*"; }

log "packages"
dnf install -y docker python3.11 python3.11-pip nftables tar gzip tcpdump
systemctl enable --now docker
systemctl enable amazon-ssm-agent || true   # no inbound SSH: operators use Session Manager

log "docker compose plugin ${COMPOSE_VERSION} (checksum verified)"
arch="$(uname -m)"
plugin_dir=/usr/libexec/docker/cli-plugins
install -d "${plugin_dir}"
base="https://github.com/docker/compose/releases/download/${COMPOSE_VERSION}/docker-compose-linux-${arch}"
tmp="$(mktemp -d)"
curl -fsSL -o "${tmp}/docker-compose-linux-${arch}" "${base}"
curl -fsSL -o "${tmp}/docker-compose-linux-${arch}.sha256" "${base}.sha256"
(cd "${tmp}" && sha256sum -c "docker-compose-linux-${arch}.sha256")
install -m 0755 "${tmp}/docker-compose-linux-${arch}" "${plugin_dir}/docker-compose"
rm -rf "${tmp}"
docker compose version

log "sensor files -> ${DEST}"
install -d -m 0755 "${DEST}" /etc/tapcase-sensor /var/log/tapcase
cp -a "${SRC}/compose.yaml" "${SRC}/README.md" "${DEST}/"
rm -rf "${DEST}/suricata" "${DEST}/zeek" "${DEST}/boot"
cp -a "${SRC}/suricata" "${SRC}/zeek" "${SRC}/boot" "${DEST}/"
chmod 0755 "${DEST}/boot/firewall.sh"

log "engine images (built from pinned upstream images; ET Open ${TAPCASE_ET_OPEN:-1})"
docker build --pull --build-arg "ET_OPEN=${TAPCASE_ET_OPEN:-1}" \
    --build-arg "ET_OPEN_SHA256=${TAPCASE_ET_OPEN_SHA256:-}" -t "${SURICATA_IMAGE}" "${DEST}/suricata"
docker build --pull -t "${ZEEK_IMAGE}" "${DEST}/zeek"
SENSOR_INTERFACE=eth0 SENSOR_CAPTURE_FILTER="udp dst port 4789" SENSOR_PCAP_ENABLED=no \
    SENSOR_PCAP_FILE_LIMIT=4mb SENSOR_PCAP_MAX_FILES=1 docker compose --file "${DEST}/compose.yaml" config --quiet

log "agent -> ${DEST}/venv"
python3.11 -m venv "${DEST}/venv"
"${DEST}/venv/bin/pip" install --no-cache-dir --upgrade pip
"${DEST}/venv/bin/pip" install --no-cache-dir "${SRC}/agent"
"${DEST}/venv/bin/tapcase-sensor" --version

log "systemd units"
install -m 0644 "${DEST}/boot/tapcase-engines.service" /etc/systemd/system/tapcase-engines.service
install -m 0644 "${DEST}/boot/tapcase-sensor.service" /etc/systemd/system/tapcase-sensor.service
# A sensor fleet's members (sensor_image/fleet/fleet.yaml) run these instead; installed, not enabled.
for unit in tapcase-fleet-capture tapcase-fleet-health tapcase-fleet; do
    install -m 0644 "${DEST}/boot/${unit}.service" "/etc/systemd/system/${unit}.service"
done
systemctl daemon-reload
systemctl enable tapcase-engines.service tapcase-sensor.service

# An AMI must not carry an investigation: the agent config comes with each launch.
rm -f /etc/tapcase-sensor/agent.json /etc/tapcase-sensor/engines.env
log "done"
