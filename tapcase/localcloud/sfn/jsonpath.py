"""JSONPath as AWS evaluates it (Jayway JsonPath): definite paths give a value, others a list.

A definite path such as ``$.Instances[0].InstanceId`` gives the value, an indefinite one (``[*]``,
``..``, filters, slices, unions) gives a list, possibly empty. moto 5.2.5 gave a one-element list
for any path going through an index (moto issue #7825).

A ``ResultPath`` is parsed once, not at every state it ends (moto's ``ResultPath`` built a new
jsonpath_ng parser, LR tables included, each time: ~3% of a busy local cloud's CPU).
"""

from __future__ import annotations

import functools
from typing import Any

from tapcase.localcloud.patching import Patch, install

EXTRACT_JSON = Patch(
    target="moto.stepfunctions.parser.asl.utils.json_path:extract_json",
    fixes="a definite JSONPath gives its value, not a one-element list, as AWS (Jayway) does",
    relies_on="every JSONPath of the interpreter (Parameters, ResultSelector, Choice, ItemsPath) "
    "goes through json_path.extract_json, imported by name into other moto modules",
    watch={"moto.stepfunctions.parser.asl.utils.json_path:extract_json": "932245247973"},
)


RESULT_PATH_PARSE = Patch(
    target="moto.stepfunctions.parser.asl.component.common.path.result_path:parse",
    fixes="a ResultPath is parsed once per path string, not at every evaluation (same expression, no parser build)",
    relies_on="ResultPath._eval_body calls the module's parse(result_path_src) (jsonpath_ng.parse) and only "
    "reads the expression (update_or_create does not change it)",
    watch={"moto.stepfunctions.parser.asl.component.common.path.result_path:ResultPath._eval_body": "a6d93b4e5a33"},
)


@functools.lru_cache(maxsize=1024)
def _result_path(path: str) -> Any:
    from jsonpath_ng import parse

    return parse(path)


def _is_definite(node: Any) -> bool:
    """Whether a parsed path names at most one value (Jayway's notion, which AWS follows)."""
    from jsonpath_ng.jsonpath import Child, Fields, Index, Root, This

    if isinstance(node, (Root, This)):
        return True
    if isinstance(node, Child):
        return _is_definite(node.left) and _is_definite(node.right)
    if isinstance(node, Fields):
        return len(node.fields) == 1 and node.fields[0] != "*"
    if isinstance(node, Index):
        return len(node.indices) == 1
    # Wildcard, Slice, Descendants, filters, unions, ext functions: any number of values.
    return False


@functools.lru_cache(maxsize=2048)
def _compile_path(path: str) -> tuple[Any, bool]:
    from jsonpath_ng.ext import parse

    expression = parse(path)
    return expression, _is_definite(expression)


def extract_json(path: str, data: Any) -> Any:
    """AWS's JSONPath: the value for a definite path, a list of values for an indefinite one."""
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

    expression, definite = _compile_path(path)
    matches = expression.find(data)
    if not definite:
        return [match.value for match in matches]
    if not matches:
        raise NoSuchJsonPathError(json_path=path, data=data)
    return matches[0].value


def apply() -> None:
    install(EXTRACT_JSON, extract_json, everywhere=True)
    install(RESULT_PATH_PARSE, _result_path)
