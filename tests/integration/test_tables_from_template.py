"""Tables built from template.yaml in moto: the same code the local stack runs against DynamoDB Local."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.tables import TABLE_TYPE, create_tables, load_template, table_definitions

REGION = "eu-central-1"

GSI_TEMPLATE = textwrap.dedent(
    """
    Resources:
      Data:
        Type: AWS::DynamoDB::Table
        Properties:
          BillingMode: PAY_PER_REQUEST
          AttributeDefinitions:
            - {AttributeName: pk, AttributeType: S}
            - {AttributeName: sk, AttributeType: S}
            - {AttributeName: due, AttributeType: S}
          KeySchema:
            - {AttributeName: pk, KeyType: HASH}
            - {AttributeName: sk, KeyType: RANGE}
          GlobalSecondaryIndexes:
            - IndexName: by-due
              KeySchema:
                - {AttributeName: due, KeyType: HASH}
                - {AttributeName: pk, KeyType: RANGE}
              Projection: {ProjectionType: KEYS_ONLY}
          TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
    """
)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A moto DynamoDB client."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


def test_create_tables_builds_every_table_of_the_template(dynamodb: Any) -> None:
    # Given the deployed template
    resources = load_template()["Resources"]
    tables = {name: r["Properties"] for name, r in resources.items() if r["Type"] == TABLE_TYPE}

    # When the tables are created
    created = create_tables(dynamodb)

    # Then each has the template's keys, billing and TTL, under its logical id
    assert created == {name: name for name in tables}
    for name, properties in tables.items():
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert table["KeySchema"] == properties["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(
            properties["AttributeDefinitions"], key=str
        )
        assert table["BillingModeSummary"]["BillingMode"] == properties.get("BillingMode", "PROVISIONED")
        indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {index["IndexName"] for index in properties.get("GlobalSecondaryIndexes", [])}
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if properties.get("TimeToLiveSpecification", {}).get("Enabled"):
            assert ttl == {
                "TimeToLiveStatus": "ENABLED",
                "AttributeName": properties["TimeToLiveSpecification"]["AttributeName"],
            }


def test_create_tables_main_table_has_the_single_table_keys(dynamodb: Any) -> None:
    create_tables(dynamodb)
    table = dynamodb.describe_table(TableName="MainTable")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert (
        dynamodb.describe_time_to_live(TableName="MainTable")["TimeToLiveDescription"]["AttributeName"]
        == "ttl"
    )


def test_create_tables_is_idempotent_and_keeps_items(dynamodb: Any) -> None:
    create_tables(dynamodb)
    dynamodb.put_item(TableName="MainTable", Item={"pk": {"S": "ACCOUNT#77777"}, "sk": {"S": "A"}})

    assert create_tables(dynamodb) == {"MainTable": "MainTable", "IdempotencyTable": "IdempotencyTable"}

    item = dynamodb.get_item(TableName="MainTable", Key={"pk": {"S": "ACCOUNT#77777"}, "sk": {"S": "A"}})
    assert item["Item"]["pk"] == {"S": "ACCOUNT#77777"}


def test_create_tables_uses_the_given_names(dynamodb: Any) -> None:
    names = {"MainTable": "readings-test", "IdempotencyTable": "idempotency-test"}
    assert create_tables(dynamodb, names=names) == names
    assert sorted(dynamodb.list_tables()["TableNames"]) == ["idempotency-test", "readings-test"]
    assert table_definitions(prefix="pr-")[0]["TableName"] == "pr-MainTable"


def test_create_tables_builds_global_indexes_and_ttl(dynamodb: Any, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(GSI_TEMPLATE)

    create_tables(dynamodb, template_path=template)

    (index,) = dynamodb.describe_table(TableName="Data")["Table"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-due" and index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert (
        dynamodb.describe_time_to_live(TableName="Data")["TimeToLiveDescription"]["AttributeName"]
        == "expires"
    )


def test_create_tables_adds_an_index_the_kept_table_lacks(dynamodb: Any, tmp_path: Path) -> None:
    # Given a table kept from an older template without the index
    template = tmp_path / "template.yaml"
    template.write_text(GSI_TEMPLATE)
    (definition,) = table_definitions(template)
    older = {key: value for key, value in definition.items() if key != "GlobalSecondaryIndexes"}
    older["AttributeDefinitions"] = [
        a for a in definition["AttributeDefinitions"] if a["AttributeName"] != "due"
    ]
    dynamodb.create_table(**older)

    # When the stack starts with the new template
    create_tables(dynamodb, template_path=template)

    # Then the index is there
    indexes = dynamodb.describe_table(TableName="Data")["Table"]["GlobalSecondaryIndexes"]
    assert [index["IndexName"] for index in indexes] == ["by-due"]


def test_create_tables_refuses_a_kept_table_with_other_keys(dynamodb: Any) -> None:
    dynamodb.create_table(
        TableName="MainTable",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(RuntimeError, match="make reset"):
        create_tables(dynamodb)


def test_create_tables_ignores_deployment_time_properties(dynamodb: Any, tmp_path: Path) -> None:
    # Given a table whose billing, name and tags depend on parameters only CloudFormation knows
    template = tmp_path / "template.yaml"
    template.write_text(
        textwrap.dedent(
            """
            Parameters:
              Stage: {Type: String}
            Conditions:
              IsProd: !Equals [!Ref Stage, prod]
            Resources:
              Data:
                Type: AWS::DynamoDB::Table
                Properties:
                  TableName: !Sub "data-${Stage}"
                  BillingMode: !If [IsProd, PROVISIONED, PAY_PER_REQUEST]
                  KeySchema: [{AttributeName: pk, KeyType: HASH}]
                  AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
                  ProvisionedThroughput: !If
                    - IsProd
                    - {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
                    - !Ref AWS::NoValue
                  Tags: [{Key: stage, Value: !Ref Stage}]
                  SSESpecification: {SSEEnabled: true, KMSMasterKeyId: !GetAtt Key.Arn}
            """
        )
    )

    # When / Then the table is made under its logical id, on demand
    assert create_tables(dynamodb, template_path=template) == {"Data": "Data"}
    table = dynamodb.describe_table(TableName="Data")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_table_definitions_refuse_a_key_design_only_cloudformation_knows(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        textwrap.dedent(
            """
            Resources:
              Data:
                Type: AWS::DynamoDB::Table
                Properties:
                  KeySchema: [{AttributeName: !Ref KeyName, KeyType: HASH}]
                  AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
            """
        )
    )
    with pytest.raises(ValueError, match=r"Data\.KeySchema"):
        table_definitions(template)
