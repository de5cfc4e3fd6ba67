"""The one settings object: pydantic-settings, read from ``PRECOLLECT_*`` environment variables.

``Settings`` holds what every command shares (home, store, grace days, bad-row limit, model
alias) and one section per part: ``api`` (``PRECOLLECT_API_*``), ``training``
(``PRECOLLECT_TRAIN_*``), ``worklist`` (``PRECOLLECT_WORKLIST_*``), ``schedule``
(``PRECOLLECT_SCHEDULE_*``) and ``monitor`` (``PRECOLLECT_MONITOR_*``). The CLI's and the flows'
defaults come from here. Validators refuse unsafe configurations: outside development mode the
service needs API keys and a session secret of its own; keys are stored only as SHA-256 hashes.

Nothing is read on import, and nothing heavy is imported: build ``Settings()`` where needed.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.ledger.limits import MAX_BAD_FRACTION
from models.decisions.playbook import WorklistConfig, load_config
from models.monitoring.limits import Deterioration, Thresholds
from models.registry.aliases import CHAMPION
from models.registry.promotion import PromotionPolicy

MIN_SECRET_CHARS = 32
SESSION_SECRET_ENV = "PRECOLLECT_API_SESSION_SECRET"
PEPPER_ENV = "PRECOLLECT_API_KEY_PEPPER"
_PLAYBOOK = WorklistConfig()
_POLICY = PromotionPolicy()
_LIMITS = Thresholds()
_RULES = Deterioration()


class Role(StrEnum):
    """``scorer``: collections systems (score, read); ``viewer``: managers (read, pages);
    ``collector``: collectors and their CRM (read the worklist, record contacts; no scoring,
    no reloads); ``admin``: everything, including model reloads and erasure."""

    scorer = "scorer"
    viewer = "viewer"
    collector = "collector"
    admin = "admin"


class ApiKey(BaseModel):
    """One API key, known only by a digest of its secret: ``hmac_sha256``, the HMAC-SHA256 under
    the server's pepper (``PRECOLLECT_API_KEY_PEPPER``) of the key's SHA-256, or, in
    development only, the plain ``sha256`` (``precollect pepper-keys`` converts those)."""

    name: str = Field(min_length=1, max_length=64)
    role: Role
    hmac_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="hex HMAC-SHA256(pepper, SHA-256(key))"
    )
    sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="hex SHA-256 of the key (unpeppered)"
    )

    @model_validator(mode="after")
    def _one_digest(self) -> ApiKey:
        if (self.hmac_sha256 is None) == (self.sha256 is None):
            raise ValueError(f"API key {self.name!r} needs exactly one of hmac_sha256 or sha256")
        return self

    @property
    def digest(self) -> str:
        """The stored digest, whichever kind."""
        return self.hmac_sha256 or self.sha256 or ""


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=None, extra="ignore", populate_by_name=True
    )


class ApiSettings(BaseSettings):
    """The API service and the managers' pages (``PRECOLLECT_API_*``)."""

    model_config = _section("PRECOLLECT_API_")

    mode: Literal["development", "production"] = "development"
    keys: list[ApiKey] = Field(default_factory=list, description="JSON list of hashed keys")
    max_batch: int = Field(10_000, ge=1, le=1_000_000, description="invoices per score request")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="request body limit")
    poll_seconds: float = Field(30.0, gt=0, description="how often the model alias is checked")
    ledger: str | None = Field(None, description="ledger folder or URL giving customer history")
    stale_after_days: int = Field(
        7, ge=0, description="warn when scoring against a ledger extracted longer ago than this"
    )
    mapping: Path | None = Field(None, description="mapping file of that ledger")
    session_secret: SecretStr | None = Field(None, description="signs the pages' session cookie")
    session_max_age: int = Field(8 * 3600, ge=60)
    key_pepper: SecretStr | None = Field(
        None,
        description=f"server-side secret the API key digests are keyed with (at least "
        f"{MIN_SECRET_CHARS} characters; required outside development mode)",
    )
    max_failed_keys: int = Field(
        20,
        ge=1,
        description="failed key attempts a client may make per minute, per worker, before 429",
    )
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
        if len({k.digest for k in keys}) != len(keys):
            raise ValueError("two API keys have the same hash")
        return keys

    @model_validator(mode="after")
    def _pepper_for_peppered_keys(self) -> ApiSettings:
        pepper = self.key_pepper.get_secret_value() if self.key_pepper else ""
        if self.key_pepper is not None and len(pepper) < MIN_SECRET_CHARS:
            raise ValueError(f"{PEPPER_ENV} must be at least {MIN_SECRET_CHARS} characters")
        peppered = [k.name for k in self.keys if k.hmac_sha256]
        if peppered and not pepper:
            raise ValueError(
                f"API key {peppered[0]!r} is stored as hmac_sha256 but {PEPPER_ENV} is not set"
            )
        return self

    @model_validator(mode="after")
    def _safe_outside_development(self) -> ApiSettings:
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
        if self.key_pepper is None:
            raise ValueError(f"{PEPPER_ENV} must be set outside development mode (see SECURITY.md)")
        plain = [k.name for k in self.keys if k.sha256]
        if plain:
            raise ValueError(
                f"API key {plain[0]!r} is a plain SHA-256 digest: outside development mode keys "
                "must be peppered (run precollect pepper-keys)"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        """Development mode with no keys serves everyone as admin, for trying things out."""
        return bool(self.keys)

    def resolved_session_secret(self) -> str:
        if self.session_secret is not None:
            return self.session_secret.get_secret_value()
        # development only, and only without `precollect serve` (which draws one for all its
        # workers): an app made in-process, e.g. by a test client; production requires a secret
        return secrets.token_urlsafe(32)


class TrainingSettings(BaseSettings):
    """Training and promotion (``PRECOLLECT_TRAIN_*``)."""

    model_config = _section("PRECOLLECT_TRAIN_")

    seed: int = Field(0, description="random seed")
    auc_margin: float = Field(
        _POLICY.auc_margin, description="promotion: test ROC-AUC gain over the champion needed"
    )
    ece_tolerance: float = Field(
        _POLICY.ece_tolerance, ge=0, description="promotion: calibration (ECE) loss allowed"
    )
    min_test_rows: int = Field(
        _POLICY.min_test_rows, ge=1, description="promotion: test rows needed at least"
    )
    folds: int = Field(
        1, ge=1, le=12, description="rolling-origin evaluation folds (3 is a good choice weekly)"
    )

    def policy(self) -> PromotionPolicy:
        return PromotionPolicy(
            auc_margin=self.auc_margin,
            ece_tolerance=self.ece_tolerance,
            min_test_rows=self.min_test_rows,
        )


class WorklistSettings(BaseSettings):
    """The daily outreach worklist (``PRECOLLECT_WORKLIST_*``)."""

    model_config = _section("PRECOLLECT_WORKLIST_")

    capacity: int | None = Field(
        None,
        ge=0,
        description=f"human contacts per day [default: the playbook's, else {_PLAYBOOK.capacity}]",
    )
    playbook: Path | None = Field(None, description="TOML playbook: rules and limits")
    currency: str = Field(
        "EUR", min_length=3, max_length=3, description="currency the customer messages quote"
    )

    def config(self, capacity: int | None = None, playbook: Path | None = None) -> WorklistConfig:
        """The playbook in force: the arguments, else these settings, else the defaults."""
        return load_config(
            playbook or self.playbook, capacity if capacity is not None else self.capacity
        )


class ScheduleSettings(BaseSettings):
    """The served Prefect deployments of ``precollect schedule`` (``PRECOLLECT_SCHEDULE_*``)."""

    model_config = _section("PRECOLLECT_SCHEDULE_")

    ledger: str | None = Field(
        None, description="ledger folder or URL the scheduled runs read [default: --ledger]"
    )
    mapping: Path | None = Field(None, description="mapping file of that ledger")
    timezone: str = Field("UTC", description="IANA time zone of the cron schedules")
    score_cron: str = Field("0 6 * * *", description="when the daily score runs (cron)")
    train_cron: str = Field("0 5 * * 1", description="when the weekly retrain runs (cron)")
    monitor_cron: str = Field("30 6 * * *", description="when the daily monitor runs (cron)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {zone!r} (an IANA name such as Europe/Paris)"
            ) from None
        return zone

    @field_validator("score_cron", "train_cron", "monitor_cron")
    @classmethod
    def _five_fields(cls, cron: str) -> str:
        if len(cron.split()) != 5:
            raise ValueError(f"{cron!r} is not a cron schedule of five fields, e.g. '0 6 * * *'")
        return cron


class MonitorSettings(BaseSettings):
    """The monitor's alert thresholds and its retrain trigger (``PRECOLLECT_MONITOR_*``)."""

    model_config = _section("PRECOLLECT_MONITOR_")

    feature_psi: float = Field(_LIMITS.feature_psi, gt=0, description="PSI of one feature")
    group_psi: float = Field(_LIMITS.group_psi, gt=0, description="mean PSI of a reason group")
    score_psi: float = Field(_LIMITS.score_psi, gt=0, description="PSI of the scores")
    min_rows: int = Field(
        _LIMITS.min_rows, ge=1, description="scored invoices needed before drift alerts"
    )
    quarantine_rate: float = Field(
        _LIMITS.quarantine_rate, ge=0, le=1, description="share of a table's rows quarantined"
    )
    auc_drop: float = Field(
        _LIMITS.auc_drop, gt=0, description="ROC-AUC below the reference's estimate by this"
    )
    ece_rise: float = Field(
        _LIMITS.ece_rise, gt=0, description="ECE above the reference's expected ECE by this"
    )
    mature_share: float = Field(
        _LIMITS.mature_share, gt=0, le=1, description="labels known before a cohort is realised"
    )
    min_coverage: float = Field(
        _LIMITS.min_coverage, ge=0, le=1, description="pay-date P10-P90 coverage at least"
    )
    max_wape: float = Field(_LIMITS.max_wape, gt=0, description="weekly cash forecast WAPE")
    lateness_gap: float = Field(
        _LIMITS.lateness_gap,
        gt=0,
        le=1,
        description="invoices just due: late share above the model's mean probability by this",
    )
    cohort_days: int = Field(
        _LIMITS.cohort_days, ge=1, le=3660, description="days of stored batches to follow"
    )
    recent_days: int = Field(
        _RULES.recent_days, ge=7, description="deteriorating accounts: the recent window"
    )
    days_to_pay_jump: float = Field(
        _RULES.days_to_pay_jump, gt=0, description="deteriorating accounts: days to pay rise"
    )
    retrain_on: list[str] = Field(
        default_factory=list,
        description="alert kinds that start a retrain (JSON list, e.g. "
        '["feature_drift", "performance_drop"]); empty: never',
    )

    def thresholds(self) -> Thresholds:
        return Thresholds(
            feature_psi=self.feature_psi,
            group_psi=self.group_psi,
            score_psi=self.score_psi,
            min_rows=self.min_rows,
            quarantine_rate=self.quarantine_rate,
            auc_drop=self.auc_drop,
            ece_rise=self.ece_rise,
            mature_share=self.mature_share,
            min_coverage=self.min_coverage,
            max_wape=self.max_wape,
            lateness_gap=self.lateness_gap,
            cohort_days=self.cohort_days,
            deterioration=Deterioration(
                recent_days=self.recent_days, days_to_pay_jump=self.days_to_pay_jump
            ),
        )


class Settings(BaseSettings):
    """Everything precollect reads from its environment."""

    model_config = _section("PRECOLLECT_")

    home: Path = Field(Path("."), description="working folder for the stores and outputs")
    database_url: str | None = Field(
        None, description="score store (SQLAlchemy URL); default SQLite precollect.db in home"
    )
    store_connect_timeout: float = Field(
        5.0, gt=0, le=600, description="seconds to wait for the score store to accept a connection"
    )
    store_statement_timeout: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="seconds a score-store statement may run (or wait for a lock)",
    )
    grace_days: int = Field(0, ge=0, description="days after due before a payment counts as late")
    max_bad_fraction: float = Field(
        MAX_BAD_FRACTION, ge=0, le=1, description="fail above this share of quarantined rows"
    )
    model_alias: str = Field(
        CHAMPION,
        min_length=1,
        validation_alias=AliasChoices("PRECOLLECT_MODEL_ALIAS", "PRECOLLECT_API_MODEL_ALIAS"),
        description="registry alias (or version) that scores",
    )
    model_name: str | None = Field(
        None,
        description="registered model to use [default: the ledger's own, precollect-<ledger name>]",
    )
    dask_address: str | None = Field(
        None,
        description="Dask scheduler for features, train and score ('local': a LocalCluster "
        "with this machine's cores) [default: none, in memory]",
    )
    api: ApiSettings = Field(default_factory=ApiSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    worklist: WorklistSettings = Field(default_factory=WorklistSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'precollect.db').resolve()}"

    @property
    def generated_dir(self) -> Path:
        return self.home / "data" / "generated"
