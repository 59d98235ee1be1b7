"""Benchmark of the local mirror data plane (not a test).

    .venv/bin/python -m tests.bench.bench_dataplane [--story exfiltration] [--size-mb 100] [--keep DIR]

1. generates the story's plain capture (the suspect's subnet: its traffic, its never-mirrored
   host services, two neighbours) and repeats it, timestamps shifted, until it holds ``--size-mb``;
2. in a fresh process, builds the sensor's interface capture from it (accept-all filter with
   amazon-dns, one session, the sensor's own traffic merged in) and prints packets/s, MB/s and
   the process's peak memory: the data plane streams, so memory does not grow with the capture.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tapcase.localcloud import mirror_dataplane as dp
from tapcase.localcloud import mirror_rules as mr
from tapcase.localcloud import wire
from tapcase.localcloud.sensor_traffic import own_traffic
from tapcase.scenario import generate
from tapcase.scenario.model import RESOLVER_IP, SENSOR_ENI_MAC, SENSOR_IP, VPC_CIDR

MB = 1_000_000


def build_capture(story: str, size_mb: float, directory: Path) -> tuple[Path, str]:
    info = generate(story, directory / f"{story}.pcap")
    records = list(wire.read_capture(info.pcap))
    span = records[-1][0] - records[0][0] + 1_000_000
    out = directory / f"{story}-{size_mb:.0f}mb.pcap"
    with wire.PcapWriter(out) as writer:
        shift = 0
        while writer.bytes < size_mb * MB:
            for ts, _lt, frame in records:
                writer.write(ts + shift, frame)
            shift += span
    return out, info.suspect_ip


def measure(capture: Path, suspect_ip: str, out: Path) -> dict[str, float]:
    rule = mr.Rule.from_fields({"rule_number": 100, "rule_action": "accept", "source_cidr_block": "0.0.0.0/0",
                                "destination_cidr_block": "0.0.0.0/0"})
    session = mr.SessionSpec("tms-bench", 1, "eni-source", "tmt-bench", "eni-sensor", 4242, 8500,
                             mr.FilterSpec.build("tmf-bench", [("ingress", rule), ("egress", rule)], ["amazon-dns"]),
                             created=0.0)
    source = mr.SourceSpec("eni-source", suspect_ip, "0e:1b:2c:3d:4e:5b", frozenset({mr.packed(suspect_ip)}),
                           mr.resolver_addresses(VPC_CIDR), (session,))
    sensor = dp.SensorEndpoint("i-bench", frozenset({"eni-sensor"}), SENSOR_IP, SENSOR_ENI_MAC)

    def own(first_us: int):  # noqa: ANN202
        return own_traffic(start_us=first_us, sensor_ip=SENSOR_IP, sensor_mac=SENSOR_ENI_MAC,
                           resolver_ip=RESOLVER_IP, region="us-east-1")

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stats = dp.materialize(capture, out, sensor, [source], scale=0, own_traffic=own)
    return {
        "rss_before_mb": before,
        "packets": stats.packets_read, "mirrored": stats.mirrored, "own": stats.own_packets,
        "seconds": stats.seconds, "bytes": capture.stat().st_size,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--story", default="exfiltration")
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--keep", type=Path, help="keep the captures in this directory")
    parser.add_argument("--measure", nargs=3, metavar=("CAPTURE", "SUSPECT_IP", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        capture, suspect_ip, out = args.measure
        print(json.dumps(measure(Path(capture), suspect_ip, Path(out))))
        return 0
    directory = args.keep or Path(tempfile.mkdtemp(prefix="tapcase-bench-dataplane-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        capture, suspect_ip = build_capture(args.story, args.size_mb, directory)
        proc = subprocess.run(
            [sys.executable, "-m", "tests.bench.bench_dataplane", "--measure", str(capture), suspect_ip,
             str(directory / "interface.pcap")],
            capture_output=True, text=True, check=True,
        )
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
        seconds = figures["seconds"]
        print(f"capture     {capture.name}: {figures['packets']:,} packets, {figures['bytes'] / MB:,.1f} MB")
        print(f"delivered   {figures['mirrored']:,} mirrored + {figures['own']:,} of the sensor's own traffic")
        print(f"throughput  {figures['packets'] / seconds:,.0f} packets/s, {figures['bytes'] / MB / seconds:,.1f} MB/s "
              f"({seconds:.2f} s)")
        print(f"memory      peak RSS {figures['peak_rss_mb']:,.0f} MB "
              f"({figures['rss_before_mb']:,.0f} MB before the data plane ran)")
    finally:
        if args.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
