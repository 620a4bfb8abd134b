"""The operator HTTP API, dashboard and metrics endpoint (same process, same event loop)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from localctl.config.base import StrictModel
from localctl.config.listen import ListenAddress


class ApiTlsConfig(StrictModel):
    """HTTPS for the operator API (TLS 1.2 or above)."""

    cert_file: Path = Field(description="PEM certificate (chain) of the API (path)")
    key_file: Path = Field(description="PEM private key of cert_file (path)")


class ApiConfig(ListenAddress):
    """Where the operator API listens, how it authenticates, and what it keeps."""

    listen: str = Field(
        "127.0.0.1:8080",
        description="HOST:PORT of the HTTP API and dashboard (loopback by default; port 0: any "
        "free port)",
    )
    tls: ApiTlsConfig | None = Field(
        None,
        description="serve HTTPS with this certificate; null: plain HTTP (then keep `listen` on "
        "loopback or put a TLS proxy in front)",
    )
    token: SecretStr | None = Field(
        None,
        description="bearer token every API call must carry; null: read it from the environment "
        "variable named by `token_env` (the token is never logged)",
    )
    token_env: str = Field(
        "LOCALCTL_API_TOKEN",
        min_length=1,
        description="environment variable holding the bearer token when `token` is null",
    )
    event_log_size: int = Field(
        1000,
        ge=10,
        description="operator-visible events kept in memory; the oldest make room (count)",
    )
    history_s: float = Field(
        3600.0, gt=0, description="how far back the dashboard chart's history goes (s)"
    )
    history_interval_s: float = Field(
        5.0, gt=0, description="sampling interval of that history (s)"
    )
    report_timeout_s: float = Field(
        30.0,
        gt=0,
        description="how long to wait for the NotifyReport frames after a 2.0.1 GetBaseReport (s)",
    )
    csms_locked_parameters: tuple[str, ...] = Field(
        (),
        description="configuration keys the CSMS owns (1.6 key or 2.0.1 Component.Variable): "
        "local changes to them are refused, per parameter",
    )
