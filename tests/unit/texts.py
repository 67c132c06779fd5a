"""The words a resident would read for a domain error, as the web cabinet renders them."""

from __future__ import annotations

from ekc.channels import web
from ekc.exceptions import DomainError


def error_text(exc: DomainError) -> str:
    """The cabinet's Ukrainian sentence for `exc`."""
    return web.error_text(exc.code, **exc.params)
