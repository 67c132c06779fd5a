"""DynamoDB tables from template.yaml: every AWS::DynamoDB::Table, with its indexes and TTL.

The local stack and the tests build their tables from the same SAM template that is deployed,
so local and deployed never drift.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from local.template import (
    ROOT,
    TABLE_TYPE,
    TEMPLATE_PATH,
    UNRESOLVED,
    Resolver,
    as_template,
    load_template,
    resources_of_type,
)

# Re-exported: tests and the benchmark import these from here.
__all__ = [
    "ROOT",
    "TABLE_TYPE",
    "TEMPLATE_PATH",
    "create_tables",
    "load_template",
    "table_definitions",
    "ttl_attributes",
]


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
    template_path: Mapping[str, Any] | str | Path = TEMPLATE_PATH,
    names: Mapping[str, str] | None = None,
    prefix: str = "",
) -> list[dict[str, Any]]:
    """Every AWS::DynamoDB::Table of the template as boto3 `create_table` keyword arguments."""
    template = as_template(template_path)
    resolver = Resolver(template)
    definitions = []
    for logical_id, resource in resources_of_type(template, TABLE_TYPE).items():
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
    template_path: Mapping[str, Any] | str | Path = TEMPLATE_PATH,
    names: Mapping[str, str] | None = None,
    prefix: str = "",
) -> dict[str, str]:
    """Table name -> TTL attribute, for the tables whose TimeToLiveSpecification is enabled."""
    template = as_template(template_path)
    resolver = Resolver(template)
    attributes = {}
    for logical_id, resource in resources_of_type(template, TABLE_TYPE).items():
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
    template_path: Mapping[str, Any] | str | Path = TEMPLATE_PATH,
    prefix: str = "",
) -> dict[str, str]:
    """Create the template's absent tables, wait for ACTIVE, enable TTL; returns logical id -> name."""
    template = as_template(template_path)
    logical_ids = list(resources_of_type(template, TABLE_TYPE))
    definitions = table_definitions(template, names, prefix)
    ttl = ttl_attributes(template, names, prefix)
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
