"""Moved to :mod:`tapcase.localcloud.mirroring.ledger` (issue 9: the local cloud split by concern);
this path keeps every public name importable. New code imports the new module."""

from tapcase.localcloud.mirroring.ledger import *  # noqa: F403
from tapcase.localcloud.mirroring.ledger import __all__  # noqa: F401
