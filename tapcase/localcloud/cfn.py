"""Reading a SAM/CloudFormation template: YAML short-form tags and intrinsic functions.

Just what deploying tapcase's own template into the local cloud needs: Ref, Fn::GetAtt, Fn::Sub
(both forms), Fn::Join, Fn::Select, Fn::Split, Fn::FindInMap (Mappings), Fn::If with Conditions (Fn::Equals, Fn::Not,
Fn::And, Fn::Or) and the pseudo parameters, the template's Parameters (checked as CloudFormation
checks them) and SAM's DefinitionSubstitutions. Anything else is refused loudly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


class TemplateError(ValueError):
    """The template uses something the local deployer cannot evaluate faithfully."""


_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "GetAZs": "Fn::GetAZs",
    "Base64": "Fn::Base64",
    "FindInMap": "Fn::FindInMap",
    "ImportValue": "Fn::ImportValue",
}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's parser when PyYAML has it: ~5x faster on template.yaml)."""


def _make_constructor(fn: str) -> Callable[[yaml.Loader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if fn == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {fn: value}

    return construct


for _tag, _fn in _TAGS.items():
    _Loader.add_constructor(f"!{_tag}", _make_constructor(_fn))


def load_template(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return data


_SUB_RE = re.compile(r"\$\{([^}!][^}]*)\}")


def references(node: Any) -> set[str]:
    """Logical ids (resources or parameters) a template fragment refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                parts = value if isinstance(value, list) else str(value).split(".", 1)
                found.add(parts[0])
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
                local = set(variables)
                for name in _SUB_RE.findall(text):
                    base = name.split(".", 1)[0]
                    if base not in local and not base.startswith("AWS::"):
                        found.add(base)
                found |= references(variables)
                return found
        for value in node.values():
            found |= references(value)
    elif isinstance(node, list):
        for value in node:
            found |= references(value)
    return found


def resolve_parameters(template: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Parameter values from defaults and overrides, checked like CloudFormation checks them."""
    declared = template.get("Parameters", {})
    unknown = set(given) - set(declared)
    if unknown:
        raise TemplateError(f"unknown template parameters: {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in given:
            value: Any = given[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"template parameter {name} has no default and was not given")
        allowed = spec.get("AllowedValues")
        if allowed is not None and str(value) not in [str(a) for a in allowed]:
            raise TemplateError(f"parameter {name}={value!r} not in {allowed}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                raise TemplateError(f"parameter {name}={value!r} is not a number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise TemplateError(f"parameter {name}={value} below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise TemplateError(f"parameter {name}={value} above MaxValue {spec['MaxValue']}")
        values[name] = str(value).split(",") if spec.get("Type") == "CommaDelimitedList" else str(value)
    return values


def substitute_definition(text: str, substitutions: dict[str, Any], where: str = "definition") -> str:
    """Apply SAM ``DefinitionSubstitutions`` (``${Key}``); every placeholder must be defined."""
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
    missing = placeholders - set(substitutions)
    if missing:
        raise TemplateError(f"{where}: DefinitionSubstitutions lack {sorted(missing)}")
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", str(value))
    return text


class Evaluator:
    """Evaluates intrinsic functions against parameters and deployed resources."""

    def __init__(
        self,
        *,
        pseudo: dict[str, str],
        parameters: dict[str, Any],
        conditions: dict[str, Any],
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
        mappings: dict[str, Any] | None = None,
    ) -> None:
        self.pseudo = pseudo
        self.mappings = mappings or {}
        self.parameters = parameters
        self._conditions_src = conditions
        self._conditions: dict[str, bool] = {}
        self._ref = ref
        self._get_att = get_att

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self._conditions_src:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.evaluate(self._conditions_src[name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._ref(name)

    def evaluate(self, node: Any) -> Any:  # noqa: C901 - one branch per intrinsic
        if isinstance(node, list):
            return [v for v in (self.evaluate(x) for x in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                if value == "AWS::NoValue":
                    return _NO_VALUE
                return self.ref(value)
            if key == "Fn::GetAtt":
                parts = value if isinstance(value, list) else str(value).split(".", 1)
                return self._get_att(parts[0], parts[1])
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::Join":
                sep, items = value
                return str(sep).join(str(x) for x in self.evaluate(items))
            if key == "Fn::Select":
                index, items = value
                return self.evaluate(items)[int(self.evaluate(index))]
            if key == "Fn::Split":
                sep, text = value
                return str(self.evaluate(text)).split(sep)
            if key == "Fn::If":
                name, yes, no = value
                return self.evaluate(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                a, b = (self.evaluate(x) for x in value)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.evaluate(value[0])
            if key == "Fn::And":
                return all(self.evaluate(x) for x in value)
            if key == "Fn::Or":
                return any(self.evaluate(x) for x in value)
            if key == "Fn::FindInMap":
                name, top, second = (self.evaluate(x) for x in value)
                try:
                    return self.mappings[name][top][second]
                except KeyError:
                    raise TemplateError(f"Fn::FindInMap: no {name}.{top}.{second} in Mappings") from None
            if key == "Condition":
                return self.condition(value)
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not supported by the local deployer")
        out = {}
        for k, v in node.items():
            ev = self.evaluate(v)
            if ev is not _NO_VALUE:
                out[k] = ev
        return out

    def _sub(self, value: Any) -> str:
        if isinstance(value, str):
            text, variables = value, {}
        else:
            text, variables = value[0], self.evaluate(value[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return str(self._get_att(resource, attribute))
            return str(self.ref(name))

        return _SUB_RE.sub(replace, text).replace("${!", "${")


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE = _NoValue()


def check_rules(template: dict[str, Any], evaluator: Evaluator) -> None:
    """The template's ``Rules``: each assertion of a rule whose condition holds must hold, or the
    stack is refused, as CloudFormation refuses it before creating anything."""
    for name, rule in (template.get("Rules") or {}).items():
        if "RuleCondition" in rule and not evaluator.evaluate(rule["RuleCondition"]):
            continue
        for assertion in rule.get("Assertions", []):
            if not evaluator.evaluate(assertion["Assert"]):
                raise TemplateError(f"rule {name}: {assertion.get('AssertDescription', 'assertion failed')}")
