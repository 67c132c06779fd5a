"""Small service functions every channel calls; each takes its repository with a production default."""

from __future__ import annotations

from functools import lru_cache

from ekc.config import get_settings
from ekc.storage.repository import Repository


@lru_cache(maxsize=1)
def get_repository() -> Repository:
    """The production repository, made once per container."""
    return Repository(get_settings())
