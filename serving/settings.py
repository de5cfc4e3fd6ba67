"""The service's settings: one pydantic-settings object read from ``PRECOLLECT_API_*``.

Validators refuse unsafe configurations: outside development mode the service needs API keys
and a session secret of its own; keys are stored only as SHA-256 hashes.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from precollect.settings import get_settings

MIN_SECRET_CHARS = 32
SESSION_SECRET_ENV = "PRECOLLECT_API_SESSION_SECRET"


class Role(StrEnum):
    """``scorer``: collections systems (score, read); ``viewer``: managers (read, pages);
    ``admin``: everything, including contacts and model reloads."""

    scorer = "scorer"
    viewer = "viewer"
    admin = "admin"


class ApiKey(BaseModel):
    """One API key, known only by the SHA-256 hex digest of its secret."""

    name: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the key")
    role: Role


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRECOLLECT_API_", env_file=None, extra="ignore")

    mode: Literal["development", "production"] = "development"
    keys: list[ApiKey] = Field(default_factory=list, description="JSON list of hashed keys")
    max_batch: int = Field(10_000, ge=1, le=1_000_000, description="invoices per score request")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="request body limit")
    poll_seconds: float = Field(30.0, gt=0, description="how often the model alias is checked")
    model_alias: str = Field("champion", min_length=1)
    ledger: str | None = Field(None, description="ledger folder or URL giving customer history")
    mapping: Path | None = Field(None, description="mapping file of that ledger")
    home: Path | None = Field(
        None, description="precollect home (MLflow store); default PRECOLLECT_HOME"
    )
    store_url: str | None = Field(None, description="score store; default PRECOLLECT_DATABASE_URL")
    session_secret: SecretStr | None = Field(None, description="signs the pages' session cookie")
    session_max_age: int = Field(8 * 3600, ge=60)
    batch_wait_ms: float = Field(
        0.0,
        ge=0,
        le=50,
        description="micro-batching window; at 0 requests that arrive while a batch is being "
        "scored form the next one",
    )

    @field_validator("keys")
    @classmethod
    def _unique_names(cls, keys: list[ApiKey]) -> list[ApiKey]:
        names = [k.name for k in keys]
        if len(set(names)) != len(names):
            raise ValueError("API key names must be unique")
        if len({k.sha256 for k in keys}) != len(keys):
            raise ValueError("two API keys have the same hash")
        return keys

    @model_validator(mode="after")
    def _safe_outside_development(self) -> ServiceSettings:
        if self.mode == "development":
            return self
        if not self.keys:
            raise ValueError(
                "no API keys configured: set PRECOLLECT_API_KEYS (hashed) or use development mode"
            )
        secret = self.session_secret.get_secret_value() if self.session_secret else ""
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(
                f"PRECOLLECT_API_SESSION_SECRET must be at least {MIN_SECRET_CHARS} characters "
                "outside development mode"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        """Development mode with no keys serves everyone as admin, for trying things out."""
        return bool(self.keys)

    def resolved_home(self) -> Path:
        return self.home or get_settings().home

    def resolved_store_url(self) -> str:
        return self.store_url or get_settings().store_url

    def resolved_session_secret(self) -> str:
        if self.session_secret is not None:
            return self.session_secret.get_secret_value()
        # development only, and only without `precollect serve` (which draws one for all its
        # workers): an app made in-process, e.g. by a test client; production requires a secret
        return secrets.token_urlsafe(32)
