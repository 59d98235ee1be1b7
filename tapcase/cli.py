"""(being written)"""


def main() -> None:
    pass
