"""``tapcase-sensor``: the sensor agent's command line.

    tapcase-sensor process --pcap FILE --out DIR [--sensor-ip IP | --plain] [--pcap-max-mb N]
                           [--rules FILE] [--zeek auto|require|skip]
    tapcase-sensor run [--config agent.json]          # on the sensor instance (systemd)
    tapcase-sensor fleet --config fleet.json --ring DIR  # on a fleet member (systemd): per-VNI evidence
    tapcase-sensor prepare-host                       # before the engines start (systemd)
    tapcase-sensor check-pcap FILE                    # validate a capture, print what it holds
    tapcase-sensor read FILE [--limit N]              # Zeek log / EVE as normalised NDJSON
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tapcase_contract.layout import PCAP_DIR, RAW_DIR, manifest_key
from tapcase_contract.limits import DEFAULT_PCAP_MAX_MB
from tapcase_sensor import __version__
from tapcase_sensor.errors import SensorConfigError, SensorError
from tapcase_sensor.versions import SURICATA_VERSION, ZEEK_VERSION

PROG = "tapcase-sensor"


def _err(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# process
# ---------------------------------------------------------------------------------------------


def _prepare_out(out: Path, overwrite: bool) -> None:
    raw = out / RAW_DIR
    owned = [raw / "suricata", raw / "zeek", raw / PCAP_DIR, out / manifest_key("")]
    present = [p for p in owned if p.exists()]
    if present and not overwrite:
        listed = ", ".join(str(p) for p in present)
        raise SensorConfigError(f"{out} already holds results ({listed}); use an empty directory or --overwrite")
    for path in present:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    raw.mkdir(parents=True, exist_ok=True)


def _print_summary(manifest: dict[str, Any], manifest_path: Path) -> None:
    for name, info in manifest["engines"].items():
        if info["status"] == "skipped":
            print(f"{name}: SKIPPED: {info['reason']}")
            continue
        counts = manifest["record_counts"].get(name, {})
        detail = ", ".join(f"{k}={v}" for k, v in counts.items()) or "no records"
        print(f"{name} {info['version'] or '?'}: {sum(counts.values())} records ({detail})")
    packets = manifest["packets"]
    print(f"packets: {packets['seen']} seen, {packets['dropped']} dropped, {packets['vxlan']} VXLAN")
    totals = manifest["totals"]
    print(f"files: {totals['files']} ({totals['bytes']} bytes)")
    pcap = manifest.get("pcap") or {}
    if pcap.get("enabled"):
        print(f"pcap: {len(pcap['files'])} file(s), {pcap['packets_kept']} packets, {pcap['bytes_kept']} bytes "
              f"(cap {pcap['max_mb']} MiB{', REACHED' if pcap['cap_reached'] else ''}): {pcap['note']}")
    else:
        print(f"pcap: none kept ({pcap.get('note', 'disabled')})")
    print(f"manifest: {manifest_path} (complete)")


def cmd_process(args: argparse.Namespace) -> int:
    from tapcase_sensor.engines import OfflineEngines
    from tapcase_sensor.manifest import build_manifest, failure_manifest, write_json_atomic

    out = Path(args.out)
    manifest_path = out / manifest_key("")
    try:
        _prepare_out(out, args.overwrite)
    except SensorError as exc:
        _err(f"{exc.error_name}: {exc}")
        return 2
    try:
        engines = OfflineEngines(
            args.pcap, out, rules=args.rules, zeek=args.zeek, suricata_config=args.suricata_config, allow_empty=False,
            sensor_ip=args.sensor_ip, plain=args.plain, pcap_max_mb=args.pcap_max_mb,
        )  # fmt: skip
        print(f"capture filter: {engines.capture_filter.bpf or '(none)'}: {engines.capture_filter.note}", file=sys.stderr)
        capture = engines.stop()
        manifest = build_manifest(investigation_id=args.investigation_id, capture=capture)
    except SensorError as exc:
        write_json_atomic(manifest_path, failure_manifest(args.investigation_id, exc.error_name, str(exc)))
        _err(f"{exc.error_name}: {exc}")
        print(f"{PROG}: no complete manifest written ({manifest_path} records the failure)", file=sys.stderr)
        return 1
    write_json_atomic(manifest_path, manifest)
    if args.json:
        print(json.dumps(manifest, indent=2))
    else:
        _print_summary(manifest, manifest_path)
    return 0


# ---------------------------------------------------------------------------------------------
# run (on the instance)
# ---------------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from tapcase_sensor.agent import Agent, sensor_clients
    from tapcase_sensor.config import load_config
    from tapcase_sensor.deadline import power_off
    from tapcase_sensor.engines import LiveEngines

    try:
        config = load_config(args.config)
        engines = LiveEngines(
            config.interface, log_dir=config.log_dir, sensor_ip=config.sensor_ip, pcap_max_mb=config.pcap_max_mb
        )
    except SensorError as exc:
        _err(f"{exc.error_name}: {exc}")
        return 1
    agent = Agent(config, engines, sensor_clients(config.region), shutdown=power_off)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    agent.run_forever(stop)
    return 0


def cmd_fleet(args: argparse.Namespace) -> int:
    """On a member of a sensor fleet: answer the fleet queue, one investigation per VNI (tapcase_sensor.fleet)."""
    from tapcase_sensor.fleet import FleetAgent, FleetConfig, RingCapture, fleet_clients

    try:
        data = json.loads(Path(args.config).read_text(encoding="utf-8"))
        config = FleetConfig.from_dict(data)
    except (OSError, ValueError) as exc:
        _err(f"SensorConfigError: cannot read the fleet config {args.config}: {exc}")
        return 1
    except SensorError as exc:
        _err(f"{exc.error_name}: {exc}")
        return 1
    ring = Path(args.ring)
    if not ring.is_dir():
        _err(f"SensorConfigError: ring directory not found: {ring} (tapcase-fleet-capture.service writes it)")
        return 1
    from tapcase_sensor.coverage import CoverageRoller, member_s3_client

    clients = fleet_clients(config.region)
    kept = RingCapture(ring, config.sensor_ip)
    rules = Path(args.rules) if args.rules else None
    roller = CoverageRoller(kept, member_s3_client(clients.client_options()), config.bucket, Path(config.log_dir) / "coverage",
                            interval=config.coverage_roll_seconds, rules=rules)
    agent = FleetAgent(config, kept, clients, rules=rules, coverage=roller)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    agent.run_forever(stop)
    return 0


def cmd_prepare_host(args: argparse.Namespace) -> int:
    """Before the engines start (tapcase-engines.service): interface, log dirs, env file."""
    from tapcase_sensor.config import load_config
    from tapcase_sensor.engines import prepare_host

    interface, log_dir, sensor_ip, pcap_max_mb = args.interface, args.log_dir, None, DEFAULT_PCAP_MAX_MB
    try:
        config = load_config(args.config)
        interface = interface or config.interface
        log_dir = log_dir or config.log_dir
        sensor_ip, pcap_max_mb = config.sensor_ip, config.pcap_max_mb
    except SensorConfigError as exc:
        print(f"{PROG}: no agent config yet ({exc}); using defaults", file=sys.stderr)
    try:
        setup = prepare_host(
            interface or "auto", log_dir or "/var/log/tapcase", args.env_file, sensor_ip=sensor_ip, pcap_max_mb=pcap_max_mb
        )
    except SensorError as exc:
        _err(f"{exc.error_name}: {exc}")
        return 1
    print(
        f"mirror interface {setup.interface}; capture filter {setup.capture_filter.bpf!r}; "
        f"pcap evidence {setup.packet_log.max_mb} MiB; wrote {args.env_file}"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# small tools
# ---------------------------------------------------------------------------------------------


def cmd_check_pcap(args: argparse.Namespace) -> int:
    from tapcase_sensor.pcap import inspect_capture

    try:
        info = inspect_capture(args.pcap)
    except SensorError as exc:
        _err(f"{exc.error_name}: {exc}")
        return 1
    print(json.dumps(info.to_dict(), indent=2))
    return 0


def cmd_read(args: argparse.Namespace) -> int:
    from tapcase_sensor.logs import ZeekLog, read_eve, sniff_format

    fmt = sniff_format(args.file)
    records: Iterator[dict[str, Any]]
    try:
        if fmt == "eve":
            records = (event.data for event in read_eve(args.file))
        elif fmt in ("zeek-json", "zeek-tsv"):
            records = iter(ZeekLog(args.file))
        else:
            _err(f"{args.file}: not a Zeek log or Suricata EVE file (looks like {fmt})")
            return 1
        for n, record in enumerate(records):
            if args.limit is not None and n >= args.limit:
                break
            print(json.dumps(record, default=str))
    except SensorError as exc:
        _err(f"{exc.error_name}: {exc}")
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="tapcase sensor agent (Zeek + Suricata)")
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {__version__} (zeek {ZEEK_VERSION}, suricata {SURICATA_VERSION})",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("process", help="run the engines on a capture file; write logs and manifest")
    p.add_argument("--pcap", required=True, help="capture file (pcap or pcapng)")
    p.add_argument("--out", required=True, help="output directory (logs go to OUT/raw/<engine>/)")
    capture = p.add_mutually_exclusive_group()
    capture.add_argument(
        "--sensor-ip",
        help="the sensor's address: analyse only VXLAN (UDP 4789) sent to it, as a sensor does "
        "(default: every UDP 4789 packet, whatever its destination)",
    )
    capture.add_argument(
        "--plain", action="store_true", help="a plain capture of an instance (not VXLAN): no capture filter"
    )
    p.add_argument(
        "--pcap-max-mb", type=int, default=DEFAULT_PCAP_MAX_MB,
        help=f"keep the analysed packets as pcap, at most this many MiB (0: none; default {DEFAULT_PCAP_MAX_MB})",
    )  # fmt: skip
    p.add_argument("--rules", help="Suricata rules file (loaded exclusively, like suricata -S)")
    p.add_argument(
        "--zeek", choices=("auto", "require", "skip"), default="auto", help="Zeek: auto (default), require, skip"
    )
    p.add_argument("--suricata-config", help="Suricata configuration (default: the sensor's suricata.yaml)")
    p.add_argument("--investigation-id", default=None, help="investigation id recorded in the manifest")
    p.add_argument("--overwrite", action="store_true", help="replace earlier results in OUT")
    p.add_argument("--json", action="store_true", help="print the manifest instead of a summary")
    p.set_defaults(func=cmd_process)

    p = sub.add_parser("run", help="run the agent on the sensor instance (answers the state machine)")
    p.add_argument("--config", help="agent config JSON (default: /etc/tapcase-sensor/agent.json or user data)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("fleet", help="run the agent on a member of a sensor fleet (one investigation per VNI)")
    p.add_argument("--config", required=True,
                   help="fleet config JSON: control_queue_url, bucket, sensor_ip (the member's address), region")
    p.add_argument("--ring", required=True, help="directory of the member's rotating capture files (UDP 4789)")
    p.add_argument("--rules", help="Suricata rules file (loaded exclusively, like suricata -S)")
    p.set_defaults(func=cmd_fleet)

    p = sub.add_parser("prepare-host", help="write the engines' env file (interface, log dir) before they start")
    p.add_argument("--config", help="agent config JSON (default: /etc/tapcase-sensor/agent.json or user data)")
    p.add_argument("--interface", help="mirror interface (default: from the config, else the default-route interface)")
    p.add_argument("--log-dir", help="host log directory (default: from the config, else /var/log/tapcase)")
    p.add_argument("--env-file", default="/etc/tapcase-sensor/engines.env")
    p.set_defaults(func=cmd_prepare_host)

    p = sub.add_parser("check-pcap", help="validate a capture file and print what it holds")
    p.add_argument("pcap")
    p.set_defaults(func=cmd_check_pcap)

    p = sub.add_parser("read", help="print a Zeek log or eve.json as normalised NDJSON")
    p.add_argument("file")
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(func=cmd_read)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    raise SystemExit(args.func(args))


if __name__ == "__main__":
    main()
