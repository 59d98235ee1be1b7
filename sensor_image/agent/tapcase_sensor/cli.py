"""(being written)"""


def main() -> None:
    raise SystemExit("tapcase-sensor: not built yet")
