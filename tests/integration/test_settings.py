"""Settings per concern: from the environment locally, secrets from SSM Parameter Store in AWS."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from ekc.config import clear_settings, link_settings, storage_settings, telephony_settings, viber_settings

KEY = "ssm-signing-key-0123456789abcdef0123456789"


@pytest.fixture
def ssm() -> Any:
    """Moto's SSM with the stage's secrets as SecureStrings, as operators put them there."""
    with mock_aws():
        client = boto3.client("ssm", region_name="eu-central-1")
        client.put_parameter(Name="/meter-readings/test/token-signing-key", Value=KEY, Type="SecureString")
        yield client


def test_settings_read_a_secret_from_ssm_when_only_its_parameter_is_named(
    ssm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function whose environment names the SSM parameter, not the secret itself
    monkeypatch.delenv("TOKEN_SIGNING_KEY")
    monkeypatch.setenv("TOKEN_SIGNING_KEY_PARAMETER", "/meter-readings/test/token-signing-key")
    clear_settings()
    # When the link settings are read / Then the key is the decrypted SSM value
    assert link_settings().token_signing_key.get_secret_value() == KEY


def test_settings_take_the_environment_before_ssm(ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given both a value in the environment (the local stack) and a parameter name
    monkeypatch.setenv("TOKEN_SIGNING_KEY_PARAMETER", "/meter-readings/test/token-signing-key")
    clear_settings()
    # Then the environment's value wins and SSM is not asked
    assert link_settings().token_signing_key.get_secret_value() != KEY


def test_settings_of_one_door_do_not_break_another(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no Viber or Twilio token at all (the web API's environment)
    monkeypatch.delenv("VIBER_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    clear_settings()
    # Then the web's concerns read fine, and only asking for a door's own concern fails
    assert storage_settings().table_name == "MainTable"
    assert link_settings().public_base_url == "https://cabinet.example.test"
    with pytest.raises(ValidationError):
        viber_settings()
    with pytest.raises(ValidationError):
        telephony_settings()


def test_settings_names_are_the_fields_in_capitals(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the variables the template and the local stack set
    monkeypatch.setenv("VIBER_AUTH_TOKEN", "t0ken")
    monkeypatch.setenv("VIBER_API_URL", "http://127.0.0.1:3000/_local/viber/pa/")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idem")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    clear_settings()
    # Then each lands in its concern, base URLs without a trailing slash
    assert viber_settings().viber_auth_token.get_secret_value() == "t0ken"
    assert viber_settings().viber_api_url == "http://127.0.0.1:3000/_local/viber/pa"
    assert storage_settings().idempotency_table == "idem"
    assert storage_settings().aws_region == "eu-west-1"


def test_settings_read_the_public_address_from_the_parameter_the_template_writes(
    ssm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the deployed stack: CloudFront's address in a parameter, only its name in the environment
    ssm.put_parameter(
        Name="/meter-readings/test/public-base-url", Value="https://d1.cloudfront.net/", Type="String"
    )
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.setenv("PUBLIC_BASE_URL_PARAMETER", "/meter-readings/test/public-base-url")
    clear_settings()
    # Then QR links use it (without its trailing slash)
    assert link_settings().public_base_url == "https://d1.cloudfront.net"
