"""Bearer-token authentication: the token comes from the configuration or an environment
variable, is compared in constant time, and is never logged or echoed."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from localctl.config.api import ApiConfig
from localctl.config.loader import ConfigError

_SCHEME = HTTPBearer(auto_error=False, description="the token of `api.token` / `api.token_env`")


class MissingTokenError(ConfigError):
    """No token configured: the API refuses to start rather than run open."""


def resolve_token(config: ApiConfig, environ: Mapping[str, str] = os.environ) -> str:
    if config.token is not None:
        return config.token.get_secret_value()
    token = environ.get(config.token_env, "")
    if not token:
        raise MissingTokenError(
            f"api: no bearer token: set api.token or the environment variable {config.token_env}"
        )
    return token


class BearerAuth:
    """A FastAPI dependency: 401 unless `Authorization: Bearer <token>` matches."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(
        self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)]
    ) -> None:
        given = b"" if credentials is None else credentials.credentials.encode()
        if not secrets.compare_digest(given, self._token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or wrong bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )
