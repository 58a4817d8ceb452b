"""The `[server]` config section: limits on what one client can hold of the hall's HTTP server."""

from __future__ import annotations

from pydantic import Field

from controller.domain.strict import StrictModel


class ServerLimits(StrictModel):
    """HTTP limits with safe defaults; nginx in front should match them (docs/operations.md)."""

    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="a connection must send a request's headers within this; else 408 and closed",
    )
    body_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="a request body must arrive whole within this"
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=64 * 1_048_576,
        description="larger bodies are refused with 413 before they are read",
    )
    max_connections: int = Field(
        default=1000,
        ge=16,
        le=100_000,
        description="open connections at once; more are closed at accept (the file limit is raised)",
    )
    max_connections_per_client: int = Field(
        default=200,
        ge=0,
        le=100_000,
        description="open connections from one address; 0: no per-address cap (behind nginx)",
    )
    streams_per_token: int = Field(
        default=16,
        ge=1,
        le=10_000,
        description="live /api/events streams one token may hold; more get 429",
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, le=300, description="an idle keep-alive connection is closed after this"
    )
