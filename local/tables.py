"""Read template.yaml: DynamoDB tables as boto3 create_table arguments, and the HTTP API routes.

The local stack and the integration tests build their tables and routes from the same SAM
template that is deployed, so local and deployed never drift.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"

TABLE_TYPE = "AWS::DynamoDB::Table"
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"


class _Unresolved:
    """Marker for a value only CloudFormation can know (a parameter, an attribute, a pseudo parameter)."""

    def __repr__(self) -> str:
        return "<unresolved>"


UNRESOLVED: Any = _Unresolved()


class TemplateLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation short tags (!Ref, !Sub, ...) as their long JSON form."""


def _construct_intrinsic(loader: TemplateLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    """Turn `!Name value` into `{"Fn::Name": value}` (`!Ref`/`!Condition` keep their bare key)."""
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # The short form writes `Resource.Attribute`; the long form is a two-item list.
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{tag_suffix}": value}


TemplateLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(template_path: str | Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a SAM/CloudFormation template, short tags included."""
    with open(template_path, encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"{template_path} has no Resources section")
    return template


def _resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if isinstance(resource, dict) and resource.get("Type") == resource_type
    }


class _Resolver:
    """Evaluates the intrinsic functions that have a local answer; the rest become UNRESOLVED."""

    def __init__(
        self,
        template: Mapping[str, Any],
        table_names: Mapping[str, str],
        parameters: Mapping[str, str],
    ) -> None:
        self.template = template
        self.table_names = table_names
        self.parameters = parameters
        self.tables = _resources_of_type(template, TABLE_TYPE)

    def ref(self, name: str) -> Any:
        """A `Ref`: local table names and given parameters resolve; the rest is deployment-time."""
        if name in self.tables:
            return self.table_names.get(name, name)
        if name in self.parameters:
            return self.parameters[name]
        return UNRESOLVED

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function inside `value`, recursively."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::If":
                return self._if(argument)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                return self._join(argument)
            if key.startswith("Fn::") or key == "Condition":
                # GetAtt, ImportValue, Select, FindInMap, ...: only CloudFormation knows.
                return UNRESOLVED
        return {key: self.resolve(item) for key, item in value.items()}

    def condition(self, name: str) -> Any:
        """Evaluate a named condition to True/False, or UNRESOLVED."""
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            return UNRESOLVED
        return self._evaluate(conditions[name])

    def _evaluate(self, expression: Any) -> Any:
        if isinstance(expression, dict) and len(expression) == 1:
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
            value = (
                variables[name] if name in variables else self.ref(name) if "." not in name else UNRESOLVED
            )
            if value is UNRESOLVED or isinstance(value, (dict, list)):
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


def _resolved_or_fail(value: Any, where: str) -> Any:
    """Refuse a table definition whose key design depends on deployment-time values."""
    if value is UNRESOLVED:
        raise ValueError(f"{where} cannot be resolved locally")
    if isinstance(value, dict):
        # Capacity is often `!If [IsProd, {...}, !Ref AWS::NoValue]`; it matters only to PROVISIONED tables.
        return {
            key: item if key == "ProvisionedThroughput" else _resolved_or_fail(item, f"{where}.{key}")
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_resolved_or_fail(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


TABLE_KEYS = (
    "BillingMode",
    "KeySchema",
    "AttributeDefinitions",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
)


def _table_name(logical_id: str, names: Mapping[str, str] | None, prefix: str) -> str:
    if names and logical_id in names:
        return names[logical_id]
    return f"{prefix}{logical_id}"


def _index_kwargs(index: Mapping[str, Any], pay_per_request: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "IndexName": index["IndexName"],
        "KeySchema": index["KeySchema"],
        "Projection": index.get("Projection", {"ProjectionType": "ALL"}),
    }
    if not pay_per_request and "ProvisionedThroughput" in index:
        kwargs["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"])
    return kwargs


def _throughput(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or any(amount is UNRESOLVED for amount in value.values()):
        raise ValueError("a PROVISIONED table's ProvisionedThroughput cannot be resolved locally")
    # YAML may give the capacities as strings; boto3 validates them as integers.
    return {key: int(amount) for key, amount in value.items()}


def table_definitions(
    template_path: str | Path = TEMPLATE_PATH,
    names: Mapping[str, str] | None = None,
    prefix: str = "",
) -> list[dict[str, Any]]:
    """Every AWS::DynamoDB::Table of the template as boto3 `create_table` keyword arguments."""
    template = load_template(template_path)
    resolver = _Resolver(template, {}, {})
    definitions = []
    for logical_id, resource in _resources_of_type(template, TABLE_TYPE).items():
        raw = resource.get("Properties") or {}
        # Only the key design must be known here; tags, encryption and the like may stay deployment-time.
        properties = _resolved_or_fail(
            {key: resolver.resolve(raw[key]) for key in TABLE_KEYS if key in raw and key != "BillingMode"},
            logical_id,
        )
        billing_mode = resolver.resolve(raw.get("BillingMode", "PROVISIONED"))
        if billing_mode is UNRESOLVED:
            billing_mode = "PAY_PER_REQUEST"  # a condition on a parameter; capacity is moot locally
        pay_per_request = billing_mode == "PAY_PER_REQUEST"
        kwargs: dict[str, Any] = {
            "TableName": _table_name(logical_id, names, prefix),
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": billing_mode,
        }
        if not pay_per_request:
            kwargs["ProvisionedThroughput"] = _throughput(properties["ProvisionedThroughput"])
        for section in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if properties.get(section):
                # Local indexes share the table's capacity, so only global ones get throughput.
                global_index = section == "GlobalSecondaryIndexes"
                kwargs[section] = [
                    _index_kwargs(index, pay_per_request or not global_index) for index in properties[section]
                ]
        stream = properties.get("StreamSpecification")
        if stream and stream.get("StreamViewType"):
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        definitions.append(kwargs)
    return definitions


def ttl_attributes(
    template_path: str | Path = TEMPLATE_PATH,
    names: Mapping[str, str] | None = None,
    prefix: str = "",
) -> dict[str, str]:
    """Table name -> TTL attribute, for the tables whose TimeToLiveSpecification is enabled."""
    template = load_template(template_path)
    resolver = _Resolver(template, {}, {})
    attributes = {}
    for logical_id, resource in _resources_of_type(template, TABLE_TYPE).items():
        spec = resolver.resolve((resource.get("Properties") or {}).get("TimeToLiveSpecification") or {})
        if (
            isinstance(spec, dict)
            and spec.get("Enabled") in (True, "true", "True")
            and isinstance(spec.get("AttributeName"), str)
        ):
            attributes[_table_name(logical_id, names, prefix)] = spec["AttributeName"]
    return attributes


def _existing_table(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def _wait_active(client: Any, name: str, timeout: float = 120.0) -> None:
    """Wait until the table and all its global indexes are ACTIVE (DynamoDB Local is instant; AWS is not)."""
    deadline = time.monotonic() + timeout
    while True:
        table = client.describe_table(TableName=name)["Table"]
        statuses = [table["TableStatus"]] + [
            index.get("IndexStatus", "ACTIVE") for index in table.get("GlobalSecondaryIndexes", [])
        ]
        if all(status == "ACTIVE" for status in statuses):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {name} is still {statuses} after {timeout:.0f} s")
        time.sleep(0.2)


def _add_missing_indexes(client: Any, definition: Mapping[str, Any], table: Mapping[str, Any]) -> None:
    """Bring a table kept on disk from an older template up to date with its new global indexes."""
    name = definition["TableName"]
    if table["KeySchema"] != definition["KeySchema"]:
        raise RuntimeError(
            f"table {name} on disk has key schema {table['KeySchema']}, the template says "
            f"{definition['KeySchema']}; wipe the local data (make reset) and start again"
        )
    present = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in definition.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in present:
            continue
        print(f"Table {name}: adding global index {index['IndexName']} from the template", file=sys.stderr)
        # DynamoDB creates one global index per UpdateTable call.
        client.update_table(
            TableName=name,
            AttributeDefinitions=definition["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        _wait_active(client, name)


def _enable_ttl(client: Any, name: str, attribute: str) -> None:
    try:
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            if current.get("AttributeName") != attribute:
                print(
                    f"Table {name}: TTL is on attribute {current.get('AttributeName')!r}, "
                    f"the template says {attribute!r}; wipe the local data (make reset) to change it",
                    file=sys.stderr,
                )
            return
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("UnknownOperationException", "UnrecognizedClientException"):
            raise
        print(f"Table {name}: this DynamoDB does not support TTL; expired items stay", file=sys.stderr)


def create_tables(
    client: Any,
    names: Mapping[str, str] | None = None,
    template_path: str | Path = TEMPLATE_PATH,
    prefix: str = "",
) -> dict[str, str]:
    """Create the template's absent tables, wait for ACTIVE, enable TTL; returns logical id -> name."""
    template = load_template(template_path)
    logical_ids = list(_resources_of_type(template, TABLE_TYPE))
    definitions = table_definitions(template_path, names, prefix)
    ttl = ttl_attributes(template_path, names, prefix)
    created = {}
    for logical_id, definition in zip(logical_ids, definitions, strict=True):
        name = definition["TableName"]
        table = _existing_table(client, name)
        if table is None:
            try:
                client.create_table(**definition)
            except ClientError as exc:
                # Another process (a parallel test worker) created it first: that is what we wanted.
                if exc.response["Error"]["Code"] != "ResourceInUseException":
                    raise
        else:
            _add_missing_indexes(client, definition, table)
        _wait_active(client, name)
        if name in ttl:
            _enable_ttl(client, name, ttl[name])
        created[logical_id] = name
    return created


@dataclass(frozen=True)
class Function:
    """An AWS::Serverless::Function as the local gateway needs it."""

    logical_id: str
    code_uri: str
    handler: str
    environment: Mapping[str, str | None]
    layers: tuple[str, ...] = ()
    timeout: int = 3
    memory_size: int = 128

    @property
    def module(self) -> str:
        """Module: CodeUri `functions/web_api/` + Handler `app.x` -> `functions.web_api.app`."""
        code_parts = [part for part in Path(self.code_uri).parts if part not in (".", "")]
        module_path = self.handler.rsplit(".", 1)[0].replace("/", ".")
        return ".".join([*code_parts, module_path])

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


def _merged_function_properties(template: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """Apply SAM's Globals the way SAM does: maps merge, lists concatenate, scalars are overridden."""
    globals_ = ((template.get("Globals") or {}).get("Function")) or {}
    merged: dict[str, Any] = dict(globals_)
    for key, value in properties.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            merged[key] = _merge_maps(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = base + value
        else:
            merged[key] = value
    return merged


def _merge_maps(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge_maps(merged[key], value)
        else:
            merged[key] = value
    return merged


def _layer_dirs(template: Mapping[str, Any], layers: list[Any]) -> tuple[str, ...]:
    """The local content folders of the template's own layers (what Lambda mounts under /opt/python)."""
    own_layers = _resources_of_type(template, LAYER_TYPE)
    dirs = []
    for layer in layers:
        if isinstance(layer, dict) and layer.get("Ref") in own_layers:
            content = (own_layers[layer["Ref"]].get("Properties") or {}).get("ContentUri")
            if isinstance(content, str):
                dirs.append(content)
    return tuple(dirs)


def _env_value(value: Any) -> str | None:
    if value is UNRESOLVED or isinstance(value, (dict, list)) or value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def http_routes(
    template_path: str | Path = TEMPLATE_PATH,
    table_names: Mapping[str, str] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> list[Route]:
    """Every HttpApi event of every AWS::Serverless::Function, with the function's code and environment.

    Environment values that only CloudFormation can know (parameters not given, attributes,
    conditions on them) are None: the local stack supplies those itself.
    """
    template = load_template(template_path)
    resolver = _Resolver(template, table_names or {}, parameters or {})
    routes = []
    for logical_id, resource in _resources_of_type(template, FUNCTION_TYPE).items():
        properties = _merged_function_properties(template, resource.get("Properties") or {})
        code_uri, handler = properties.get("CodeUri"), properties.get("Handler")
        if not isinstance(code_uri, str) or not isinstance(handler, str):
            print(f"{logical_id}: CodeUri/Handler are not local paths; not served locally", file=sys.stderr)
            continue
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        function = Function(
            logical_id=logical_id,
            code_uri=code_uri,
            handler=handler,
            environment={name: _env_value(resolver.resolve(value)) for name, value in variables.items()},
            layers=_layer_dirs(template, properties.get("Layers") or []),
            timeout=int(properties.get("Timeout", 3)),
            memory_size=int(properties.get("MemorySize", 128)),
        )
        for event_name, event in (properties.get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            event_properties = event.get("Properties") or {}
            method, path = event_properties.get("Method"), event_properties.get("Path")
            if method is None or path is None:
                # The $default route would swallow the static cabinet; nothing in the design uses it.
                print(f"{logical_id}.{event_name}: $default routes are not served locally", file=sys.stderr)
                continue
            method = str(method).upper()
            routes.append(
                Route(
                    method="ANY" if method in ("ANY", "*") else method,
                    path=path,
                    function=function,
                    event_name=event_name,
                )
            )
    return routes


def table_env_vars(template_path: str | Path = TEMPLATE_PATH) -> dict[str, str]:
    """Environment variable -> table logical id, for variables set to `!Ref <Table>` (e.g. TABLE_NAME)."""
    template = load_template(template_path)
    tables = _resources_of_type(template, TABLE_TYPE)
    sources = [((template.get("Globals") or {}).get("Function")) or {}]
    sources += [
        resource.get("Properties") or {} for resource in _resources_of_type(template, FUNCTION_TYPE).values()
    ]
    found = {}
    for properties in sources:
        for name, value in ((properties.get("Environment") or {}).get("Variables") or {}).items():
            if isinstance(value, dict) and value.get("Ref") in tables:
                found[name] = value["Ref"]
    return found


def parameter_default(name: str, template_path: str | Path = TEMPLATE_PATH) -> str | None:
    """The Default of a template parameter, if it has one."""
    parameter = (load_template(template_path).get("Parameters") or {}).get(name) or {}
    default = parameter.get("Default")
    return None if default is None else str(default)
