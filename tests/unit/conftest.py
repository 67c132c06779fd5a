"""Unit tests: no sockets, and Powertools' idempotency switched off (it would need its table)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_idempotency_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Idempotent entry points run as plain functions in unit tests."""
    monkeypatch.setenv("POWERTOOLS_IDEMPOTENCY_DISABLED", "1")
