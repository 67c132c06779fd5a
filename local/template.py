"""template.yaml as the local stack reads it: resources, SAM's Globals, intrinsics that have a local answer.

The template is parsed by cfn-lint's decoder (the same reading `make lint` checks), short tags
(`!Ref`, `!Sub`, ...) arrive in their long JSON form, and everything below works on plain dicts.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

TABLE_TYPE = "AWS::DynamoDB::Table"
BUCKET_TYPE = "AWS::S3::Bucket"
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"
DISTRIBUTION_TYPE = "AWS::CloudFront::Distribution"
HEADERS_POLICY_TYPE = "AWS::CloudFront::ResponseHeadersPolicy"
ACCOUNT_ID = "123456789012"
SCHEDULE_EVENT_TYPES = ("Schedule", "ScheduleV2")
# SAM's defaults for properties neither the function nor the Globals set.
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY_SIZE = 128


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# A value only CloudFormation can know (an attribute, a parameter not given, a condition on one).
UNRESOLVED: Any = _Marker("unresolved")
# `!Ref AWS::NoValue`: the property or list item is left out.
NO_VALUE: Any = _Marker("no value")


def _plain(value: Any) -> Any:
    """cfn-lint's node classes (dict/list/str subclasses with line marks) as plain Python values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def load_template(template_path: str | Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a SAM/CloudFormation template (YAML or JSON, short tags included) into plain dicts."""
    from cfnlint.decode import decode  # cfn-lint is heavy: only the stack and tests pay for it

    template, problems = decode(str(template_path))
    if template is None or problems:
        details = "; ".join(str(problem) for problem in problems) or "nothing parsed"
        raise ValueError(f"{template_path} cannot be read: {details}")
    template = _plain(template)
    if not isinstance(template.get("Resources"), dict):
        raise ValueError(f"{template_path} has no Resources section")
    return template


def as_template(template: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    """A loaded template as is, or the template at a path."""
    return template if isinstance(template, Mapping) else load_template(template)


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of one type, in template order."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


# ---- SAM's Globals ------------------------------------------------------------------------------------


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def _merge(global_value: Any, local_value: Any) -> Any:
    """SAM's rule: maps merge key by key (recursively), lists concatenate, anything else is replaced.

    An intrinsic function (`{"Ref": ...}`, `{"Fn::If": ...}`) counts as a single value, not a map.
    """
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        if _is_intrinsic(global_value) or _is_intrinsic(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = _merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def merged_properties(
    template: Mapping[str, Any], properties: Mapping[str, Any], section: str = "Function"
) -> dict[str, Any]:
    """A resource's properties with the template's `Globals.<section>` applied, as SAM applies them."""
    globals_ = ((template.get("Globals") or {}).get(section)) or {}
    return _merge(dict(globals_), dict(properties))


# ---- intrinsic functions ----------------------------------------------------------------------------


class Resolver:
    """Evaluates the intrinsic functions that have a local answer; the rest become UNRESOLVED.

    `refs` maps logical ids to what their `Ref` means locally (a table's or bucket's local name);
    `parameters` are the template parameters known locally (defaults are deliberately not used:
    a deployment's default, e.g. StageName `prod`, is not the local stack's value).
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        refs: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
        region: str | None = None,
    ) -> None:
        self.template = template
        self.refs = dict(refs or {})
        self.parameters = dict(parameters or {})
        self.pseudo: dict[str, str] = {"AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws"}
        if region:
            self.pseudo |= {"AWS::Region": region, "AWS::URLSuffix": "amazonaws.com"}

    def ref(self, name: str) -> Any:
        """A `Ref`: given parameters, local resource names and pseudo parameters; else UNRESOLVED."""
        if name == "AWS::NoValue":
            return NO_VALUE
        for known in (self.parameters, self.refs, self.pseudo):
            if name in known:
                return known[name]
        return UNRESOLVED

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function inside `value`, recursively."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            method = _INTRINSICS.get(key)
            if method is not None:
                return method(self, argument)
            if key.startswith("Fn::") or key == "Condition":
                # GetAtt, ImportValue, GetAZs, Cidr, ...: only CloudFormation knows.
                return UNRESOLVED
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str) -> Any:
        """Evaluate a named condition to True/False, or UNRESOLVED."""
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            return UNRESOLVED
        return self._evaluate(conditions[name])

    def _evaluate(self, expression: Any) -> Any:
        if not isinstance(expression, dict) or len(expression) != 1:
            return UNRESOLVED
        ((key, argument),) = expression.items()
        if key == "Condition":
            return self.condition(argument)
        if key in ("Fn::Not", "Fn::And", "Fn::Or"):
            values = [self._evaluate(item) for item in argument]
            if any(item is UNRESOLVED for item in values):
                return UNRESOLVED
            if key == "Fn::Not":
                return not values[0]
            return all(values) if key == "Fn::And" else any(values)
        if key == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            if left is UNRESOLVED or right is UNRESOLVED:
                return UNRESOLVED
            return str(left) == str(right)
        return UNRESOLVED

    def _if(self, argument: list[Any]) -> Any:
        name, when_true, when_false = argument
        chosen = self.condition(name)
        if chosen is UNRESOLVED:
            return UNRESOLVED
        return self.resolve(when_true if chosen else when_false)

    def _sub(self, argument: str | list[Any]) -> Any:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}
        unresolved = False

        def replace(match: re.Match[str]) -> str:
            nonlocal unresolved
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # `${!Literal}` is a literal `${Literal}`
            if name in variables:
                value = variables[name]
            else:
                value = self.ref(name) if "." not in name else UNRESOLVED  # `${X.Attr}` is a GetAtt
            if value is UNRESOLVED or value is NO_VALUE or isinstance(value, (dict, list)):
                unresolved = True
                return ""
            return str(value)

        result = re.sub(r"\$\{([^}]+)\}", replace, text)
        return UNRESOLVED if unresolved else result

    def _join(self, argument: list[Any]) -> Any:
        delimiter, items = argument[0], self.resolve(argument[1])
        if not isinstance(items, list) or any(item is UNRESOLVED for item in items):
            return UNRESOLVED
        return delimiter.join(str(item) for item in items)

    def _select(self, argument: list[Any]) -> Any:
        index, items = self.resolve(argument[0]), self.resolve(argument[1])
        if index is UNRESOLVED or not isinstance(items, list):
            return UNRESOLVED
        return items[int(index)]

    def _split(self, argument: list[Any]) -> Any:
        delimiter, text = argument[0], self.resolve(argument[1])
        return text.split(delimiter) if isinstance(text, str) else UNRESOLVED

    def _find_in_map(self, argument: list[Any]) -> Any:
        keys = [self.resolve(item) for item in argument[:3]]
        if any(key is UNRESOLVED for key in keys):
            return UNRESOLVED
        try:
            value = (self.template.get("Mappings") or {})[keys[0]][keys[1]][keys[2]]
        except (KeyError, TypeError):
            return UNRESOLVED
        return self.resolve(value)

    def _base64(self, argument: Any) -> Any:
        text = self.resolve(argument)
        return base64.b64encode(text.encode()).decode() if isinstance(text, str) else UNRESOLVED


_INTRINSICS = {
    "Fn::If": Resolver._if,
    "Fn::Sub": Resolver._sub,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::Base64": Resolver._base64,
}


def env_value(value: Any) -> str | None:
    """An environment variable's value as Lambda would see it; None when only CloudFormation knows it."""
    if value is UNRESOLVED or value is NO_VALUE or isinstance(value, (dict, list)) or value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---- local names of tables and buckets --------------------------------------------------------------


def bucket_name(logical_id: str) -> str:
    """A bucket's local name: S3 wants lower case, so `DataBucket` becomes `data-bucket`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()


def ref_variables(template: Mapping[str, Any], resource_type: str) -> dict[str, str]:
    """Environment variable -> logical id, for function variables set to `!Ref` of a resource of that type.

    E.g. `TABLE_NAME: !Ref MainTable` gives {"TABLE_NAME": "MainTable"}: a developer who sets
    TABLE_NAME in the shell names that table locally.
    """
    wanted = resources_of_type(template, resource_type)
    sources = [((template.get("Globals") or {}).get("Function")) or {}]
    sources += [
        resource.get("Properties") or {} for resource in resources_of_type(template, FUNCTION_TYPE).values()
    ]
    found = {}
    for properties in sources:
        for name, value in ((properties.get("Environment") or {}).get("Variables") or {}).items():
            if isinstance(value, dict) and value.get("Ref") in wanted:
                found[name] = value["Ref"]
    return found


def cdn_origin_buckets(template: Mapping[str, Any]) -> set[str]:
    """Buckets behind a CloudFront distribution (the cabinet's files): the gateway serves those itself."""
    origins = set()
    for distribution in resources_of_type(template, DISTRIBUTION_TYPE).values():
        config = (distribution.get("Properties") or {}).get("DistributionConfig") or {}
        for origin in config.get("Origins") or []:
            domain = origin.get("DomainName") if isinstance(origin, dict) else None
            if isinstance(domain, dict) and isinstance(domain.get("Fn::GetAtt"), list):
                origins.add(domain["Fn::GetAtt"][0])
    return origins


def local_buckets(template: Mapping[str, Any]) -> list[str]:
    """Logical ids of the S3 buckets the functions use (every bucket but those behind CloudFront)."""
    behind_cdn = cdn_origin_buckets(template)
    return [
        logical_id for logical_id in resources_of_type(template, BUCKET_TYPE) if logical_id not in behind_cdn
    ]


def parameter_default(template: Mapping[str, Any], name: str) -> str | None:
    """The Default of a template parameter, if it has one."""
    parameter = (template.get("Parameters") or {}).get(name) or {}
    default = parameter.get("Default")
    return None if default is None else str(default)


# ---- functions, their HTTP routes and their schedules -----------------------------------------------


@dataclass(frozen=True)
class Function:
    """An AWS::Serverless::Function as the local stack runs it (Globals applied, intrinsics resolved)."""

    logical_id: str
    code_uri: str
    handler: str
    environment: Mapping[str, str | None] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    memory_size: int = DEFAULT_MEMORY_SIZE
    reserved_concurrency: int | None = None
    events: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def module(self) -> str:
        """The handler's module inside CodeUri, as Lambda imports it (`app` for `app.lambda_handler`)."""
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        """The handler's function name inside its module."""
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Route:
    """One HttpApi event: METHOD and path template, served by a function."""

    method: str
    path: str
    function: Function
    event_name: str = ""

    @property
    def route_key(self) -> str:
        """API Gateway's routeKey, e.g. `GET /api/accounts/{account}`."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class ScheduleEvent:
    """One Schedule/ScheduleV2 event of a function: when EventBridge fires it, and with what."""

    function: Function
    event_name: str
    expression: str  # `rate(15 minutes)` or `cron(0 22 * * ? *)`
    kind: str = "Schedule"  # or ScheduleV2 (EventBridge Scheduler)
    enabled: bool = True
    input: str | None = None  # a constant event instead of EventBridge's own
    timezone: str | None = None  # ScheduleV2's ScheduleExpressionTimezone
    rule_name: str = ""


def _layer_dirs(template: Mapping[str, Any], layers: Iterable[Any]) -> tuple[str, ...]:
    """The local content folders of the template's own layers (what Lambda mounts under /opt/python)."""
    own_layers = resources_of_type(template, LAYER_TYPE)
    dirs = []
    for layer in layers:
        if isinstance(layer, dict) and layer.get("Ref") in own_layers:
            content = (own_layers[layer["Ref"]].get("Properties") or {}).get("ContentUri")
            if isinstance(content, str):
                dirs.append(content)
    return tuple(dirs)


def _number(value: Any, default: float | None) -> Any:
    return default if value is None or value is UNRESOLVED else value


def functions(template: Mapping[str, Any], resolver: Resolver | None = None) -> list[Function]:
    """Every AWS::Serverless::Function with local code, Globals applied and intrinsics resolved.

    Environment values only CloudFormation knows are None: the local stack supplies those itself.
    """
    resolver = resolver or Resolver(template)
    found = []
    for logical_id, resource in resources_of_type(template, FUNCTION_TYPE).items():
        properties = merged_properties(template, resource.get("Properties") or {})
        code_uri, handler = properties.get("CodeUri"), properties.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
            print(
                f"{logical_id}: CodeUri/Handler are not a local folder and module.function; not run locally",
                file=sys.stderr,
            )
            continue
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        reserved = _number(resolver.resolve(properties.get("ReservedConcurrentExecutions")), None)
        events = {
            name: {
                "Type": event.get("Type"),
                "Properties": resolver.resolve(event.get("Properties") or {}),
            }
            for name, event in (properties.get("Events") or {}).items()
            if isinstance(event, dict)
        }
        found.append(
            Function(
                logical_id=logical_id,
                code_uri=code_uri,
                handler=handler,
                environment={name: env_value(resolver.resolve(value)) for name, value in variables.items()},
                layers=_layer_dirs(template, properties.get("Layers") or []),
                timeout=float(_number(resolver.resolve(properties.get("Timeout")), DEFAULT_TIMEOUT)),
                memory_size=int(_number(resolver.resolve(properties.get("MemorySize")), DEFAULT_MEMORY_SIZE)),
                reserved_concurrency=None if reserved is None else int(reserved),
                events=events,
            )
        )
    return found


def http_routes(functions_: Iterable[Function]) -> list[Route]:
    """Every HttpApi event with a method and a path (the `$default` route would swallow the cabinet)."""
    routes = []
    for function in functions_:
        for event_name, event in function.events.items():
            if event.get("Type") != "HttpApi":
                continue
            properties = event.get("Properties") or {}
            method, path = properties.get("Method"), properties.get("Path")
            if not isinstance(method, str) or not isinstance(path, str):
                print(
                    f"{function.logical_id}.{event_name}: $default routes are not served locally",
                    file=sys.stderr,
                )
                continue
            method = method.upper()
            routes.append(Route("ANY" if method in ("ANY", "*") else method, path, function, event_name))
    return routes


def schedule_events(functions_: Iterable[Function]) -> list[ScheduleEvent]:
    """Every Schedule (EventBridge rule) and ScheduleV2 (EventBridge Scheduler) event of the functions."""
    found = []
    for function in functions_:
        for event_name, event in function.events.items():
            kind = event.get("Type")
            if kind not in SCHEDULE_EVENT_TYPES:
                continue
            properties = event.get("Properties") or {}
            expression = properties.get("Schedule" if kind == "Schedule" else "ScheduleExpression")
            if not isinstance(expression, str):
                print(
                    f"{function.logical_id}.{event_name}: its schedule expression is not known locally",
                    file=sys.stderr,
                )
                continue
            # Schedule has Enabled and State; ScheduleV2 only State. Unknown locally counts as on.
            enabled = (
                properties.get("Enabled", True) not in (False, "false", "False")
                and properties.get("State", "ENABLED") != "DISABLED"
            )
            payload = properties.get("Input")
            found.append(
                ScheduleEvent(
                    function=function,
                    event_name=event_name,
                    expression=expression.strip(),
                    kind=kind,
                    enabled=enabled,
                    input=payload if isinstance(payload, str) else None,
                    timezone=properties.get("ScheduleExpressionTimezone") if kind == "ScheduleV2" else None,
                    rule_name=str(properties.get("Name") or f"{function.logical_id}{event_name}"),
                )
            )
    return found


# ---- CloudFront's response headers ------------------------------------------------------------------

# What CloudFront writes for each part of a ResponseHeadersPolicy's SecurityHeadersConfig.
_SECURITY_HEADERS: dict[str, tuple[str, Any]] = {
    "ContentSecurityPolicy": ("Content-Security-Policy", lambda c: c["ContentSecurityPolicy"]),
    "ContentTypeOptions": ("X-Content-Type-Options", lambda c: "nosniff"),
    "FrameOptions": ("X-Frame-Options", lambda c: c["FrameOption"]),
    "ReferrerPolicy": ("Referrer-Policy", lambda c: c["ReferrerPolicy"]),
    "XSSProtection": (
        "X-XSS-Protection",
        lambda c: (
            "0"
            if not c.get("Protection")
            else "1"
            + ("; mode=block" if c.get("ModeBlock") else "")
            + (f"; report={c['ReportUri']}" if c.get("ReportUri") else "")
        ),
    ),
}
# Strict-Transport-Security is left out: the local stack speaks plain HTTP, where browsers ignore it
# (RFC 6797 section 8.1), and an HSTS pin on 127.0.0.1 would only get in the way of other local servers.
LEFT_OUT_LOCALLY = ("StrictTransportSecurity",)


@dataclass(frozen=True)
class ResponseHeader:
    """A header CloudFront adds to answers; `override` replaces one the origin sent."""

    name: str
    value: str
    override: bool = True


def _default_headers_policy(template: Mapping[str, Any]) -> dict[str, Any] | None:
    policies = resources_of_type(template, HEADERS_POLICY_TYPE)
    for distribution in resources_of_type(template, DISTRIBUTION_TYPE).values():
        config = (distribution.get("Properties") or {}).get("DistributionConfig") or {}
        reference = (config.get("DefaultCacheBehavior") or {}).get("ResponseHeadersPolicyId")
        if isinstance(reference, dict) and reference.get("Ref") in policies:
            return policies[reference["Ref"]]
    return next(iter(policies.values())) if len(policies) == 1 else None


def response_headers(template: Mapping[str, Any]) -> list[ResponseHeader]:
    """The security (and custom) headers of the response headers policy on the cabinet's CloudFront.

    Read from the policy the distribution's default behaviour names, less Strict-Transport-Security.
    """
    policy = _default_headers_policy(template)
    if policy is None:
        return []
    config = Resolver(template).resolve(
        ((policy.get("Properties") or {}).get("ResponseHeadersPolicyConfig")) or {}
    )
    headers = []
    for key, section in (config.get("SecurityHeadersConfig") or {}).items():
        if key in LEFT_OUT_LOCALLY or key not in _SECURITY_HEADERS or not isinstance(section, dict):
            continue
        name, value = _SECURITY_HEADERS[key]
        text = " ".join(str(value(section)).split())  # a folded YAML CSP may carry line breaks
        headers.append(ResponseHeader(name, text, bool(section.get("Override", False))))
    for item in ((config.get("CustomHeadersConfig") or {}).get("Items")) or []:
        headers.append(ResponseHeader(str(item["Header"]), str(item["Value"]), bool(item.get("Override"))))
    return headers
