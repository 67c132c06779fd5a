"""Run by the aws-sam-cli venv's Python: translate template.yaml as CloudFormation will see it, and print
the first dependency cycle between its resources (or "no cycle"). cfn-lint without the SAM translator
cannot see cycles through what SAM generates (an HTTP API's body names its functions)."""

from __future__ import annotations

import re
import sys
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def _references(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found.update(name.split(".")[0] for name in re.findall(r"\$\{([^}!][^}]*)\}", text))
                if not isinstance(inner, str):
                    _references(inner[1], found)
            else:
                _references(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _references(inner, found)


def first_cycle(path: str) -> list[str] | None:
    """The resources of the first dependency cycle in the translated template, or None."""
    with open(path, encoding="utf-8") as stream:
        template = yaml_parse(stream.read())
    for resource in template["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):  # sam package would put S3 URIs here
            if isinstance(properties.get(key), str):
                properties[key] = "s3://bucket/key"
    resources = transform(template, {}, _NoManagedPolicies())["Resources"]
    needs: dict[str, set[str]] = {}
    for name, resource in resources.items():
        found: set[str] = set()
        _references(resource.get("Properties") or {}, found)
        depends = resource.get("DependsOn") or []
        found.update([depends] if isinstance(depends, str) else depends)
        needs[name] = {other for other in found if other in resources}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        state[name] = 1
        for other in sorted(needs[name]):
            if state.get(other) == 1:
                return [*trail, name, other]
            if other not in state and (cycle := visit(other, [*trail, name])):
                return cycle
        state[name] = 2
        return None

    for name in sorted(resources):
        if name not in state and (cycle := visit(name, [])):
            return cycle
    return None


if __name__ == "__main__":
    cycle = first_cycle(sys.argv[1])
    print("no cycle" if cycle is None else "cycle: " + " -> ".join(cycle))
