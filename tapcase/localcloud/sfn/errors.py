"""Error names as AWS matches them in Retry and Catch.

- ``States.Runtime`` is neither retried nor caught, even by ``States.ALL``: "A States.Runtime
  error isn't retriable, and will always cause the execution to fail. A retry or catch on
  States.ALL won't catch States.Runtime errors." (Step Functions developer guide, error handling).
- A Parallel branch, Map iteration or callback failing with a ``States.*`` error
  (``States.Timeout`` of a callback, ``States.TaskFailed``…) fails its state with that error,
  catchable by the state's Catch. moto 5.2.5 re-wraps such names in ``CustomErrorName``, whose
  constructor refuses the ``States.`` prefix with a ValueError: the whole execution crashed.
"""

from __future__ import annotations

from typing import Any

from tapcase.localcloud.sfn.patching import Patch, install

_ERROR_NAME = "moto.stepfunctions.parser.asl.component.common.error_name"

STATES_RUNTIME = Patch(
    target=f"{_ERROR_NAME}.error_equals_decl:ErrorEqualsDecl._eval_body",
    fixes="States.Runtime is neither retried nor caught, even by States.ALL",
    relies_on="Retry and Catch match an error by ErrorEqualsDecl._eval_body popping the error name "
    "from env.stack and pushing a bool",
    watch={f"{_ERROR_NAME}.error_equals_decl:ErrorEqualsDecl._eval_body": "aeda14a0cc01"},
)
BRANCH_ERRORS = Patch(
    target=f"{_ERROR_NAME}.custom_error_name:CustomErrorName.__new__",
    fixes="States.* errors out of Parallel branches, Map iterations and callbacks stay catchable",
    relies_on="moto re-wraps a failed branch's error name with CustomErrorName(error_name=…), "
    "whose __init__ raises ValueError for a States. prefix",
    watch={f"{_ERROR_NAME}.custom_error_name:CustomErrorName.__init__": "2814dc26f7ae"},
)


def apply() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        _REVERSE_NAME_LOOKUP,
        StatesErrorNameType,
    )

    original_eval_body = ErrorEqualsDecl._eval_body

    def _eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        if isinstance(error_name, StatesErrorName) and error_name.typ == StatesErrorNameType.StatesRuntime:
            env.stack.pop()
            env.stack.append(False)
            return
        original_eval_body(self, env)

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        # Constructing a CustomErrorName for a known States.* name gives the StatesErrorName.
        name = kwargs.get("error_name", args[0] if args else None)
        if isinstance(name, str) and name in _REVERSE_NAME_LOOKUP:
            return StatesErrorName.from_name(name)
        return object.__new__(cls)

    install(STATES_RUNTIME, _eval_body)
    install(BRANCH_ERRORS, __new__)
