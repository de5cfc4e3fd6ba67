"""One typed settings object, read from ``PRECOLLECT_*`` environment variables.

Nothing here does work on import: call :func:`get_settings` where settings are needed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRECOLLECT_", env_file=None, extra="ignore")

    home: Path = Field(Path("."), description="working folder for stores and outputs")
    max_bad_fraction: float = Field(0.05, ge=0, le=1, description="fail above this bad-row share")
    grace_days: int = Field(0, ge=0, description="days after due before a payment counts as late")
    database_url: str | None = Field(None, description="score store; default SQLite in home")

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'precollect.db').resolve()}"

    @property
    def generated_dir(self) -> Path:
        return self.home / "data" / "generated"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
