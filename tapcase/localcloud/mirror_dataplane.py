"""Moved to :mod:`tapcase.localcloud.mirroring.dataplane` (issue 9: the local cloud split by concern);
this path keeps every public name importable. New code imports the new module."""

from tapcase.localcloud.mirroring.dataplane import *  # noqa: F403
from tapcase.localcloud.mirroring.dataplane import __all__  # noqa: F401
