"""template.yaml against the phone handler: its routes, the secret it may read, time limit, imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.tables import load_template
from tests.infrastructure.test_template import functions_of, merged_properties, template_routes

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_ID = "IvrFunction"
PROVIDER_TIMEOUT_SECONDS = 15


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """template.yaml, short tags read as their long forms."""
    return load_template(ROOT / "template.yaml")


def test_ivr_template_routes_equal_the_handlers_routes(template: dict[str, Any]) -> None:
    # Given the routes template.yaml sends to the phone function and the ones its handler answers
    from functions.ivr_handler.app import ROUTES

    served = {tuple(route.split(" ", 1)) for route in ROUTES}
    # Then they are the same two
    assert (
        template_routes(template, FUNCTION_ID) == served == {("POST", "/ivr/keypad"), ("POST", "/ivr/voice")}
    )


def test_ivr_template_function_reads_its_two_parameters_and_answers_in_time(template: dict[str, Any]) -> None:
    function = functions_of(template)[FUNCTION_ID]
    properties = merged_properties(template, function["Properties"])
    variables = properties["Environment"]["Variables"]
    # The token comes from SSM, named by the stage, and so does the public address (Globals)
    assert variables["TWILIO_AUTH_TOKEN_PARAMETER"] == {
        "Fn::Sub": "/meter-readings/${StageName}/twilio-auth-token"
    }
    assert variables["PUBLIC_BASE_URL_PARAMETER"] == {
        "Fn::Sub": "/meter-readings/${StageName}/public-base-url"
    }
    assert "PUBLIC_BASE_URL" not in variables  # naming the API's or CloudFront's address here makes a cycle
    # and the function may read those two parameters and no other
    ssm = [p["SSMParameterReadPolicy"] for p in properties["Policies"] if "SSMParameterReadPolicy" in p]
    assert ssm == [
        {"ParameterName": {"Fn::Sub": "meter-readings/${StageName}/twilio-auth-token"}},
        {"ParameterName": {"Fn::Sub": "meter-readings/${StageName}/public-base-url"}},
    ]
    # The provider gives up after 15 s: the function must end (and answer) before that
    assert properties["Timeout"] < PROVIDER_TIMEOUT_SECONDS
    assert properties["CodeUri"] == "functions/ivr_handler/"


def test_ivr_template_the_public_address_forwards_the_webhooks_to_the_api(template: dict[str, Any]) -> None:
    # Given the distribution that serves the public address (the one the webhook signatures cover)
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    (behaviour,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/ivr/*"]
    # Then /ivr/* goes to the API, POST allowed, never cached, with the viewer's headers and query
    assert behaviour["TargetOriginId"] == "api" and "POST" in behaviour["AllowedMethods"]
    assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert behaviour["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHost
    # And the outputs give the provider the two webhook addresses at that public address
    outputs = template["Outputs"]
    for name, path in (("KeypadWebhookUrl", "/ivr/keypad"), ("VoiceWebhookUrl", "/ivr/voice")):
        _, custom, default = outputs[name]["Value"]["Fn::If"]
        assert custom == {"Fn::Sub": "${PublicBaseUrl}" + path}
        assert default == {"Fn::Sub": "https://${Distribution.DomainName}" + path}


def test_ivr_template_has_a_log_group_and_alarms(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["IvrLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${IvrFunction}"}
    alarms = {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and name.startswith("Ivr")
    }
    assert set(alarms) == {"IvrErrorsAlarm", "IvrSignatureRefusedAlarm", "IvrStorageTroubleAlarm"}
    # The metric alarms watch what the code counts, under the dimension it counts them with
    code = (ROOT / "functions/ivr_handler/app.py").read_text() + (
        ROOT / "layers/common/python/ekc/services/calls.py"
    ).read_text()
    for name in ("IvrSignatureRefusedAlarm", "IvrStorageTroubleAlarm"):
        metric = alarms[name]["MetricName"]
        assert f'count("{metric}", "door", "phone")' in code, metric
        # Powertools adds the service name to every metric's dimensions: the alarm must name it too
        properties = merged_properties(template, functions_of(template)[FUNCTION_ID]["Properties"])
        service = properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        assert alarms[name]["Dimensions"] == [
            {"Name": "door", "Value": "phone"},
            {"Name": "service", "Value": service},
        ]


def test_ivr_handler_cold_start_imports_no_rest_client_nor_other_doors_libraries() -> None:
    # Given a fresh interpreter that imports the handler as Lambda would
    code = (
        "import sys, json; import functions.ivr_handler.app; "
        "print(json.dumps(sorted(m for m in sys.modules)))"
    )
    env = {
        "PYTHONPATH": f"{ROOT}:{ROOT / 'layers/common/python'}",
        "TWILIO_AUTH_TOKEN": "x",
        "PATH": "/usr/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    modules = set(json.loads(out.stdout))
    # Then only TwiML and the validator of twilio are loaded
    assert {"twilio.twiml.voice_response", "twilio.request_validator"} <= modules
    heavy = (
        "twilio.rest",
        "twilio.base",
        "twilio.http",
        "aiohttp",
        "requests",
        "jwt",
        "viberbot",
        "qrcode",
        "argon2",
    )
    assert [m for m in modules if m.split(".")[0] in heavy or m.startswith(heavy)] == []
    # And neither num2words nor the speech interpreter before a call needs them
    assert "num2words" not in modules
