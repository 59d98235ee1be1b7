"""Moved to :mod:`tapcase.localcloud.mirroring.wire` (issue 9: the local cloud split by concern);
this path keeps every public name importable. New code imports the new module."""

from tapcase.localcloud.mirroring.wire import *  # noqa: F403
from tapcase.localcloud.mirroring.wire import __all__  # noqa: F401
