"""(being written) see tapcase/localcloud/patches.py."""


def apply() -> None:
    pass
