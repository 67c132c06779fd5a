"""How the local stack reads template.yaml: Globals, intrinsics, functions, routes, schedules, buckets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from local.template import (
    BUCKET_TYPE,
    TABLE_TYPE,
    Resolver,
    bucket_name,
    functions,
    http_routes,
    load_template,
    local_buckets,
    merged_properties,
    ref_variables,
    response_headers,
    schedule_events,
)

ROOT = Path(__file__).resolve().parents[2]
FAKE_TEMPLATE = ROOT / "tests" / "fakes" / "local_stack" / "template.yaml"


def test_merged_properties_apply_globals_as_sam_does() -> None:
    # Given Globals and a function that overrides some of them
    template = {
        "Globals": {
            "Function": {
                "Timeout": 10,
                "Layers": [{"Ref": "Common"}],
                "Environment": {
                    "Variables": {"TABLE": {"Ref": "Main"}, "LEVEL": "INFO", "URL": {"Ref": "Url"}}
                },
                "Tags": {"team": "ekc"},
            }
        }
    }
    properties = {
        "Timeout": 30,
        "Layers": [{"Ref": "Extra"}],
        "Environment": {"Variables": {"LEVEL": "DEBUG", "OWN": "x", "URL": {"Fn::Sub": "https://${Host}"}}},
    }

    # When they are merged
    merged = merged_properties(template, properties)

    # Then scalars are replaced, lists add up, maps merge key by key (deeply), and an intrinsic
    # function is one value that replaces another, never a map merged into one
    assert merged["Timeout"] == 30
    assert merged["Layers"] == [{"Ref": "Common"}, {"Ref": "Extra"}]
    assert merged["Environment"]["Variables"] == {
        "TABLE": {"Ref": "Main"},
        "LEVEL": "DEBUG",
        "URL": {"Fn::Sub": "https://${Host}"},
        "OWN": "x",
    }
    assert merged["Tags"] == {"team": "ekc"}
    # And neither input was changed
    assert template["Globals"]["Function"]["Timeout"] == 10 and properties["Layers"] == [{"Ref": "Extra"}]


def test_merged_properties_give_every_function_of_the_template_its_globals() -> None:
    template = load_template(ROOT / "template.yaml")
    globals_ = template["Globals"]["Function"]
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        merged = merged_properties(template, resource["Properties"])
        variables = merged["Environment"]["Variables"]
        assert set(globals_["Environment"]["Variables"]) <= set(variables), logical_id
        assert "POWERTOOLS_SERVICE_NAME" in variables, logical_id
        assert globals_["Layers"][0] in merged["Layers"]


def test_load_template_reads_short_tags_as_their_long_form() -> None:
    template = load_template(ROOT / "template.yaml")
    assert template["Resources"]["MainTable"]["Type"] == TABLE_TYPE
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "CommonLayer"}]
    url = template["Resources"]["PublicBaseUrlParameter"]["Properties"]["Value"]
    assert url["Fn::If"][2] == {"Fn::Sub": "https://${Distribution.DomainName}"}
    # Plain Python values, not cfn-lint's node classes, so they pickle and compare like any dict
    assert type(template) is dict and type(template["Resources"]["MainTable"]["Type"]) is str


def test_load_template_refuses_a_template_it_cannot_parse(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text("Resources:\n  A: [unclosed\n")
    with pytest.raises(ValueError, match="cannot be read"):
        load_template(broken)


def test_functions_read_the_web_api_with_locally_known_values() -> None:
    template = load_template(ROOT / "template.yaml")
    refs = {"MainTable": "MainTable", "DataBucket": "data-bucket"}
    web_api = next(
        f for f in functions(template, Resolver(template, refs)) if f.logical_id == "WebApiFunction"
    )
    assert (web_api.code_uri, web_api.module, web_api.attribute) == (
        "functions/web_api/",
        "app",
        "lambda_handler",
    )
    assert web_api.layers == ("layers/common/python/",)
    assert (web_api.timeout, web_api.memory_size) == (10, 512)
    # Resolvable locally: literals and the table; deployment-time values are left to the local stack
    assert web_api.environment["TABLE_NAME"] == "MainTable"
    assert web_api.environment["DATA_BUCKET"] == "data-bucket"
    assert web_api.environment["POWERTOOLS_SERVICE_NAME"] == "web_api"
    assert web_api.environment["STAGE"] is None  # a parameter: the stack sets its own
    assert web_api.environment["PUBLIC_BASE_URL_PARAMETER"] is None  # ${StageName}: deployment-time
    routes = {route.route_key for route in http_routes([web_api])}
    assert {
        "GET /api/openapi.json",
        "POST /api/auth/signin",
        "POST /api/accounts/{account}/readings",
    } <= routes


def test_functions_resolve_intrinsics_with_local_answers(tmp_path: Path) -> None:
    template_path = tmp_path / "template.yaml"
    template_path.write_text(
        textwrap.dedent(
            """
            Parameters:
              Base: {Type: String, Default: ""}
            Conditions:
              HasBase: !Not [!Equals [!Ref Base, ""]]
            Mappings:
              Levels: {local: {Log: DEBUG}}
            Globals:
              Function:
                Timeout: 7
                Environment:
                  Variables: {SHARED: one, TABLE: !Ref Data, BUCKET: !Ref Files}
            Resources:
              Data:
                Type: AWS::DynamoDB::Table
                Properties:
                  KeySchema: [{AttributeName: pk, KeyType: HASH}]
                  AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
              Files:
                Type: AWS::S3::Bucket
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: functions/fn/
                  Handler: app.handler
                  ReservedConcurrentExecutions: 2
                  Environment:
                    Variables:
                      URL: !If [HasBase, !Sub "${Base}/x", !GetAtt Dist.DomainName]
                      JOINED: !Join ["-", [a, !Ref Data]]
                      LITERAL: !Sub "${!Keep}-${Data}"
                      REGION: !Sub "${AWS::Region}"
                      FIRST: !Select [0, !Split [",", "x,y"]]
                      LEVEL: !FindInMap [Levels, local, Log]
                      FLAG: true
                  Events:
                    Proxy:
                      Type: HttpApi
                      Properties: {Method: any, Path: "/hook/{proxy+}"}
                    Rest:
                      Type: Api
                      Properties: {Method: get, Path: /rest}
            """
        )
    )
    template = load_template(template_path)
    refs = {"Data": "LocalData", "Files": "local-files"}

    (function,) = functions(template, Resolver(template, refs, region="eu-central-1"))
    (route,) = http_routes([function])
    assert route.route_key == "ANY /hook/{proxy+}" and function.timeout == 7
    assert function.reserved_concurrency == 2
    assert dict(function.environment) == {
        "SHARED": "one",
        "TABLE": "LocalData",
        "BUCKET": "local-files",
        "URL": None,
        "JOINED": "a-LocalData",
        "LITERAL": "${Keep}-LocalData",
        "REGION": "eu-central-1",
        "FIRST": "x",
        "LEVEL": "DEBUG",
        "FLAG": "true",
    }
    given = Resolver(template, refs, parameters={"Base": "http://127.0.0.1:3000"})
    (with_base,) = functions(template, given)
    assert with_base.environment["URL"] == "http://127.0.0.1:3000/x"


def test_schedule_events_read_rules_and_scheduler_schedules() -> None:
    template = load_template(FAKE_TEMPLATE)
    schedules = {s.event_name: s for s in schedule_events(functions(template))}
    assert set(schedules) == {"Every", "Nightly", "Paused"}
    every, nightly, off = schedules["Every"], schedules["Nightly"], schedules["Paused"]
    assert (every.kind, every.expression, every.enabled, every.input) == (
        "Schedule",
        "rate(1 minute)",
        True,
        None,
    )
    assert every.function.logical_id == "BetaFunction" and every.rule_name == "BetaFunctionEvery"
    assert (nightly.kind, nightly.timezone) == ("ScheduleV2", "Europe/Kyiv")
    assert nightly.input == '{"at": "<aws.scheduler.scheduled-time>"}'
    assert off.enabled is False


def test_local_buckets_leave_out_the_buckets_behind_cloudfront() -> None:
    # The cabinet's bucket is served by the gateway itself; the others are made in moto's S3
    assert local_buckets(load_template(FAKE_TEMPLATE)) == ["DataBucket"]
    real = load_template(ROOT / "template.yaml")
    assert "FrontendBucket" not in local_buckets(real)
    assert set(local_buckets(real)) == {
        name for name, r in real["Resources"].items() if r["Type"] == BUCKET_TYPE and name != "FrontendBucket"
    }


def test_ref_variables_name_the_table_and_bucket_variables() -> None:
    template = load_template(FAKE_TEMPLATE)
    assert ref_variables(template, TABLE_TYPE) == {"TABLE_NAME": "Things"}
    assert ref_variables(template, BUCKET_TYPE) == {"DATA_BUCKET": "DataBucket"}
    assert ref_variables(load_template(ROOT / "template.yaml"), TABLE_TYPE)["TABLE_NAME"] == "MainTable"


def test_bucket_name_is_a_valid_s3_name() -> None:
    assert bucket_name("DataBucket") == "data-bucket"
    assert bucket_name("Exports") == "exports"


def test_response_headers_follow_the_policy_override_flags_and_leave_out_hsts() -> None:
    headers = {h.name: (h.value, h.override) for h in response_headers(load_template(FAKE_TEMPLATE))}
    assert headers == {
        "X-Content-Type-Options": ("nosniff", True),
        "X-Frame-Options": ("SAMEORIGIN", True),
        "X-Probe": ("yes", False),
    }
