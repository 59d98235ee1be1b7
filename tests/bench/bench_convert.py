"""Conversion figures: raw logs -> curated Parquet, MB/s and peak memory on one core (not a test).

    .venv/bin/python -m tests.bench.bench_convert --logs DIR [--repeat 3] [--json FILE]

Every figure comes from its own child process (``--child SPEC``), pinned to one CPU with Arrow's
thread pools at one thread, converting one kind of log the way the sensor does
(:func:`tapcase_sensor.lake.curate.curate`): Suricata EVE (``eve.json``), or Zeek JSON (every Zeek
log of the folder, one table after the other). A child reports the bytes it read (uncompressed),
rows, wall and CPU seconds and its peak resident memory (``VmHWM``: it includes the ~70 MB of the
interpreter and libraries, reported apart as ``base``). Runs:

* native, on the logs and on the same logs written ``--repeat`` times (peak memory at two sizes:
  it must not grow with the input);
* the Python way (``native=False``: ``json.loads`` and dicts -> Arrow, the previous conversion) on
  the logs, for comparison;
* real Suricata 7 EVE lines (the suricata-verify outputs of ../shared/data, stats events left
  out) written over to ~100 MB: a richer mix than the synthetic logs (DNS answers, HTTP, alerts);
* real Zeek logs in the other shapes: JSON with ISO times (native too) and TSV (the Python way):
  the brimdata WRCCDC logs of ../shared/data, when present.

:func:`conversion_figures` prints the table and returns the figures (a list of dicts).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MB = 1_000_000
KINDS = {"suricata-eve": "Suricata EVE", "zeek-json": "Zeek JSON", "zeek-json-iso": "Zeek JSON, ISO times",
         "zeek-tsv": "Zeek TSV"}


def _uncompressed_bytes(path: Path) -> int:
    with path.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    if not gz:
        return path.stat().st_size
    total = 0
    with gzip.open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            total += len(chunk)
    return total


def _peak_rss_mb() -> float:
    """This process image's peak resident memory (VmHWM). Not ru_maxrss: Linux carries the parent's
    peak over fork and exec into it, so a child of a big parent would report the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """One conversion in this process, on one CPU (runs in the child)."""
    os.sched_setaffinity(0, {spec["cpu"]})
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    from tapcase_sensor.lake.curate import curate, discover_logs

    base = _peak_rss_mb()
    sources, _ = discover_logs(spec["logs"])
    wanted = "suricata" if spec["kind"] == "suricata-eve" else "zeek"
    sources = [s for s in sources if s.kind == wanted]
    bytes_in = sum(_uncompressed_bytes(s.path) for s in sources)
    out = Path(spec["out"])
    shutil.rmtree(out, ignore_errors=True)
    wall, cpu = time.perf_counter(), time.process_time()
    result = curate(sources, out, "bench-convert", native=spec["native"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _peak_rss_mb()
    parquet = sum(p.stat().st_size for p in result.files)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "bytes": bytes_in, "rows": sum(result.rows.values()),
        "python_rows": sum(s["python_rows"] for s in result.sources), "parquet_bytes": parquet,
        "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak, "base_rss_mb": base,
    }


def run_one(kind: str, logs: Path, *, native: bool, label: str, work: Path) -> dict[str, Any]:
    """Run one conversion in a child process and return its figures."""
    cpu = sorted(os.sched_getaffinity(0))[-1]
    spec = {"kind": kind, "logs": str(logs), "native": native, "out": str(work / "out"), "cpu": cpu}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_convert", "--child", json.dumps(spec)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"conversion child failed ({kind}, {logs}):\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures.update({
        "kind": kind, "input": label,
        # the Python way when asked, or when every row took it (Zeek TSV)
        "path": "native" if native and figures["python_rows"] < figures["rows"] else "python",
        "mb_per_s": figures["bytes"] / MB / figures["wall_s"],
        "cpu_mb_per_s": figures["bytes"] / MB / figures["cpu_s"],
    })
    return figures


def repeat_logs(logs: Path, dest: Path, times: int) -> Path:
    """The same log files, each written ``times`` times over (a bigger input of the same shape)."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in logs.iterdir() if p.is_file()):
        data = path.read_bytes()
        with (dest / path.name).open("wb") as fh:
            for _ in range(times):
                fh.write(data)
    return dest


def real_eve(dest: Path, size_mb: float = 100.0) -> Path | None:
    """Real Suricata 7.0.10 EVE lines (../shared/data/suri-out: flows, DNS v2, HTTP, TLS, alerts,
    fileinfo...), without the per-run stats events, written over until ``size_mb``."""
    from tests.conftest import SHARED_DATA

    files = sorted((SHARED_DATA / "suri-out").rglob("eve.json"))
    lines = [line for path in files for line in path.read_bytes().splitlines()
             if line.strip() and b'"event_type":"stats"' not in line]
    if not lines:
        return None
    blob = b"\n".join(lines) + b"\n"
    dest.mkdir(parents=True, exist_ok=True)
    with (dest / "eve.json").open("wb") as fh:
        for _ in range(max(1, round(size_mb * MB / len(blob)))):
            fh.write(blob)
    return dest


def _real_zeek(kind: str) -> Path | None:
    from tests.conftest import SHARED_DATA

    folder = SHARED_DATA / "zeek" / "brimdata-zed-sample-data" / ("zeek-json" if kind == "zeek-json-iso" else "zeek-default")
    return folder if folder.is_dir() else None


def print_header() -> None:
    print(f"{'kind':22} {'path':7} {'input':30} {'MB':>7} {'rows':>10} {'wall s':>7} {'MB/s':>6} "
          f"{'MB/s CPU':>8} {'peak RSS':>9} {'(base)':>7} {'rows Python way':>15}", flush=True)


def print_row(f: dict[str, Any]) -> None:
    print(f"{KINDS[f['kind']]:22} {f['path']:7} {f['input']:30} {f['bytes'] / MB:7.1f} {f['rows']:10,} "
          f"{f['wall_s']:7.2f} {f['mb_per_s']:6.1f} {f['cpu_mb_per_s']:8.1f} {f['peak_rss_mb']:6.0f} MB "
          f"{f['base_rss_mb']:4.0f} MB {f['python_rows']:15,}", flush=True)


def conversion_figures(logs: Path, *, repeat: int = 3, label: str = "synthetic", work: Path | None = None) -> list[dict[str, Any]]:
    """Every conversion figure (see the module docstring); prints the table as it goes."""
    own = work is None
    work = work or Path(tempfile.mkdtemp(prefix="tapcase-bench-convert-"))
    try:
        size = sum(p.stat().st_size for p in logs.iterdir() if p.is_file()) / MB
        big = repeat_logs(logs, work / "repeated", repeat) if repeat > 1 else None
        runs: list[tuple[str, Path, bool, str]] = []
        for kind in ("suricata-eve", "zeek-json"):
            runs.append((kind, logs, True, f"{label}, {size:.0f} MB of logs"))
            if big is not None:
                runs.append((kind, big, True, f"{label}, the same x{repeat}"))
        for kind in ("suricata-eve", "zeek-json"):
            runs.append((kind, logs, False, f"{label}, {size:.0f} MB of logs"))
        real_mix = real_eve(work / "real-eve")
        if real_mix is not None:
            runs.append(("suricata-eve", real_mix, True, "suricata-verify (real), ~100 MB"))
        for kind in ("zeek-json-iso", "zeek-tsv"):
            real = _real_zeek(kind)
            if real is not None:
                runs.append((kind, real, True, "brimdata WRCCDC (real, gzip)"))
        print("conversion, one core (one process per run, pinned to one CPU); MB = 10^6 bytes of log read:")
        print_header()
        figures = []
        for kind, folder, native, text in runs:
            figures.append(run_one(kind, folder, native=native, label=text, work=work))
            print_row(figures[-1])
        if big is not None:
            for kind in ("suricata-eve", "zeek-json"):
                small, large = [f for f in figures if f["kind"] == kind and f["path"] == "native"][:2]
                print(f"peak memory, {KINDS[kind]}: {small['peak_rss_mb']:.0f} MB for {small['bytes'] / MB:.0f} MB, "
                      f"{large['peak_rss_mb']:.0f} MB for {large['bytes'] / MB:.0f} MB "
                      f"({large['peak_rss_mb'] / small['peak_rss_mb']:.2f}x memory for {large['bytes'] / small['bytes']:.1f}x input)")
        return figures
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(work / "repeated", ignore_errors=True)
            shutil.rmtree(work / "real-eve", ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Conversion throughput and peak memory, one core.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--logs", type=Path, help="folder of Zeek JSON and eve.json logs")
    parser.add_argument("--size-mb", type=float, default=300.0, help="without --logs: synthetic logs to generate")
    parser.add_argument("--repeat", type=int, default=3, help="the second size: the logs written this many times")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    work = Path(tempfile.mkdtemp(prefix="tapcase-bench-convert-"))
    try:
        logs = args.logs
        if logs is None:
            from tests.lake.synth import generate

            logs = work / "logs"
            generate(logs, seed=7, background_conns=max(1500, int(args.size_mb * MB / 1450)))
        figures = conversion_figures(logs, repeat=args.repeat, work=work)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1) + "\n")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
