"""moto's per-component error logging, silenced unless ``TAPCASE_LOCAL_VERBOSE`` is set.

moto logs ``Exception=FailureEventException, Error=…`` at every level of the state tree for each
failing state; the same error and cause stay in the execution history.
"""

from __future__ import annotations

import logging
import os

VERBOSE_ENV = "TAPCASE_LOCAL_VERBOSE"


class _VerboseOnly(logging.Filter):
    """Lets records through only while ``TAPCASE_LOCAL_VERBOSE`` is set."""

    def filter(self, record: logging.LogRecord) -> bool:
        return bool(os.environ.get(VERBOSE_ENV))


def apply() -> None:
    """Relies on: moto logs component failures on ``eval_component.LOG`` (a plain Logger)."""
    from moto.stepfunctions.parser.asl.component import eval_component

    logger = eval_component.LOG
    if type(logger) is logging.Logger and not any(isinstance(f, _VerboseOnly) for f in logger.filters):
        logger.addFilter(_VerboseOnly())
