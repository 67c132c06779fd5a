"""Settings every test starts from: dev secrets, a region, no endpoint, no fixed clock."""

from __future__ import annotations

import pytest

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_REGION": "eu-central-1",
    "TABLE_NAME": "MainTable",
    "TOKEN_SIGNING_KEY": "test-signing-key-0123456789abcdef0123456789",
    "PUBLIC_BASE_URL": "https://cabinet.example.test",
    "VIBER_CHAT_URI": "ekc-test",
    "POWERTOOLS_SERVICE_NAME": "tests",
    "POWERTOOLS_METRICS_NAMESPACE": "MeterReadingsTest",
    # Cheaper hashing keeps the suite fast; test_auth checks the production cost separately.
    "ARGON2_MEMORY_KIB": "8192",
    "ARGON2_TIME_COST": "1",
}


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees the same environment and fresh cached settings and stores."""
    from ekc.config import ALL_SETTINGS
    from ekc.idempotency import persistence_layer
    from ekc.services import auth
    from ekc.storage import connection, files, get_stores

    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("DYNAMODB_ENDPOINT", "LOCAL_NOW", "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    caches = (*ALL_SETTINGS, get_stores, connection, persistence_layer, auth._hasher, auth._decoy_hash)
    files.forget()
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()
