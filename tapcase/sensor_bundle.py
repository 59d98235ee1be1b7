"""The sensor bundle: the tarball the sensor AMI is built from (``make sensor-bundle``).

EC2 Image Builder's component (``sensor_image/recipe/component.yaml``) downloads it, unpacks it
and runs ``sensor_image/recipe/install.sh sensor_image``, which installs the agent with
``pip install sensor_image/agent``. The agent ships ``tapcase_contract`` from
``../../functions/tapcase_contract`` (``sensor_image/agent/pyproject.toml``), so the bundle holds
both directories at the places they have in the repository::

    sensor_image/...
    functions/tapcase_contract/...

Build leftovers and tool caches (``__pycache__``, ``*.egg-info``, ``build/``, hidden folders) are
left out; members are sorted and owned by root, so the same checkout gives the same member list.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: What the bundle holds, relative to the repository (and to the bundle's root).
PARTS = ("sensor_image", "functions/tapcase_contract")
EXCLUDED = ("__pycache__", "*.egg-info", "build", "*.pyc", ".*")  # hidden: tool caches
DEFAULT_OUT = REPO / "dist" / "sensor_image.tar.gz"


def _excluded(path: Path) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in path.parts for pattern in EXCLUDED)


def members(repo: Path = REPO) -> list[Path]:
    """Every file of the bundle, relative to the repository, sorted."""
    found: list[Path] = []
    for part in PARTS:
        root = repo / part
        if not root.is_dir():
            raise FileNotFoundError(f"{root} is missing: the bundle needs {', '.join(PARTS)}")
        found += [p.relative_to(repo) for p in root.rglob("*") if p.is_file() and not _excluded(p.relative_to(repo))]
    return sorted(found)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_bundle(out: Path = DEFAULT_OUT, repo: Path = REPO) -> Path:
    """Write the bundle to ``out`` (gzip tarball); returns ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as tar:
        for path in members(repo):
            tar.add(repo / path, arcname=path.as_posix(), recursive=False, filter=_normalise)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tapcase.sensor_bundle", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help=f"tarball to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    out = build_bundle(args.out)
    print(f"{out} ({len(members())} files: {', '.join(PARTS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
