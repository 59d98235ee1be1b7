"""Moved to :mod:`tapcase.localcloud.mirroring.packet_filter` (issue 9: the local cloud split by concern);
this path keeps every public name importable. New code imports the new module."""

from tapcase.localcloud.mirroring.packet_filter import *  # noqa: F403
from tapcase.localcloud.mirroring.packet_filter import __all__  # noqa: F401
