"""Settings for every Mercado process, read from ``MERCADO_*`` environment variables.

Development defaults let ``make demo`` run with no configuration; the same defaults are
refused when ``MERCADO_ENV=production`` so a deployment can never run on them.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from shop_api.core.validation import CurrencyCode

DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"
DEV_PAYMENTS_WEBHOOK_SECRET = "whsec_dev_payments_do_not_use_in_production"
DEV_SHIPPING_WEBHOOK_SECRET = "whsec_dev_shipping_do_not_use_in_production"
SUPPORTED_DATABASES = ("sqlite", "postgresql")
# What a browser sends as Origin: scheme, host and optional port, nothing after.
ORIGIN = re.compile(r"https?://[^/\s?#]+")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERCADO_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    home: Path = Field(default=Path("var"), description="Root of all generated state.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite file under MERCADO_HOME when unset."
    )
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    access_token_minutes: int = Field(default=60 * 24, ge=1)
    public_url: str = "http://127.0.0.1:8000"

    # Password reset: how long a reset link works, and the page it opens (the token is
    # appended as ``?token=``); unset, ``<public_url>/reset-password``.
    password_reset_minutes: int = Field(default=30, ge=1, le=24 * 60)
    password_reset_url: str | None = None

    # Argon2 cost; tests lower it, production keeps the OWASP-recommended defaults.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=1024)
    max_concurrent_hashes: int = Field(
        default=2,
        ge=1,
        description="Argon2 computations at once per process (each takes argon2_memory_kib); "
        "more logins wait for a slot.",
    )

    # Login throttling: failed logins per account and per client address in a window,
    # counted in the database, or in Redis when redis_url is set (shared by all workers).
    login_max_failures_per_account: int = Field(default=10, ge=1)
    login_max_failures_per_address: int = Field(default=100, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=1)
    # Password-reset requests (every one, known address or not), in the same counters.
    password_reset_max_per_account: int = Field(default=5, ge=1)
    password_reset_max_per_address: int = Field(default=100, ge=1)
    password_reset_window_seconds: int = Field(default=60 * 60, ge=1)
    redis_url: str | None = Field(default=None, description="redis://host:port/db")
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks); empty:
    # the connection's peer is the client.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)

    default_currency: CurrencyCode = "USD"
    max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    max_images_per_listing: int = Field(default=10, ge=1)

    # Checkout: stock is held this long for payment; taxes and shipping are snapshotted.
    reservation_minutes: int = Field(default=15, ge=1)
    tax_rate_bps: int = Field(default=0, ge=0, le=10_000, description="Tax in basis points")
    shipping_fee_minor: int = Field(default=0, ge=0, description="Per fulfilment group")
    max_payment_attempts: int = Field(default=3, ge=1)

    # Providers: adapters registered by name (shop_api.providers.registry); the built-in
    # sandboxes behave like real gateways and carriers. An unknown name stops start-up.
    payment_provider: str = "sandbox"
    carrier_provider: str = "sandbox"
    payments_webhook_secret: SecretStr = SecretStr(DEV_PAYMENTS_WEBHOOK_SECRET)
    shipping_webhook_secret: SecretStr = SecretStr(DEV_SHIPPING_WEBHOOK_SECRET)
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    sandbox_processing_seconds: float = Field(default=1.0, ge=0)
    sandbox_carrier_step_seconds: float = Field(default=3.0, ge=0)
    sandbox_webhook_base_url: str | None = Field(
        default=None,
        description="Where the sandbox providers send webhooks; by default the address "
        "the server listens on (listen_url), else public_url.",
    )
    listen_url: str | None = Field(
        default=None,
        description="The address the server listens on, recorded by the server itself at "
        "start-up (mercado serve, shop_api.serving); not meant to be set by hand.",
    )

    # Background jobs (webhook delivery, sandbox progress, reservation expiry).
    background_jobs: bool = True
    background_interval_seconds: float = Field(default=0.5, gt=0)

    # Clickstream collection (POST /collect): limits per request and per client.
    collect_max_events: int = Field(default=500, ge=1)
    collect_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    collect_rate_events_per_second: float = Field(default=200.0, gt=0)
    collect_burst_events: int = Field(default=2_000, ge=1)
    collect_max_future_seconds: int = Field(default=600, ge=0)
    collect_max_age_days: int = Field(default=7, ge=1)
    # The clickstream's landing zone: the folder <home>/lake, or an S3-compatible store.
    # Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    # AWS_DEFAULT_REGION, a profile, an instance role), never from these settings.
    lake_url: str | None = Field(
        default=None,
        pattern=r"^s3://[^/]+(/.*)?$",
        description="s3://bucket/prefix for the landing zone; the folder <home>/lake when unset.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="Endpoint of an S3-compatible store (MinIO, Ceph, ...); AWS when unset.",
    )
    # Server-side events on read paths are flushed to the lake at least this often.
    event_flush_seconds: float = Field(default=1.0, gt=0)

    # Recommendations (shop_api/recommendations): the models under
    # <home>/artifacts/recommender, followed through LATEST and CHALLENGER.
    recs_challenger_share: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Share of shoppers (by a hash of their key, stable) served by the "
        "CHALLENGER model when one is published.",
    )
    recs_max_per_seller: int = Field(default=3, ge=1, description="Items per seller in a list")
    recs_reload_seconds: float = Field(
        default=1.0, ge=0, description="How often the model pointers are checked for a change"
    )
    recs_popularity_days: int = Field(
        default=30, ge=1, description="Orders counted by the popularity fallback (no model)"
    )
    recs_popularity_cache_seconds: float = Field(default=60.0, ge=0)

    db_pool_size: int = Field(
        default=20,
        ge=1,
        description="Connections each engine of a worker keeps open. Below the requests a "
        "worker has in flight, connections beyond it are closed on return and opened again "
        "(a PostgreSQL backend started per request); pools only grow as far as they are used.",
    )
    gc_young_threshold: int = Field(
        default=10_000,
        ge=0,
        description="Allocations between young-generation collections while serving, with "
        "the startup heap frozen (see shop_api.core.gc_tuning); 0 leaves the collector as is.",
    )
    log_level: str = "INFO"
    log_json: bool = True
    access_log: bool = True

    # Browser front ends on other origins that may call the API (CORS): comma-separated
    # or a JSON list, e.g. http://localhost:5173; none by default, "*" for any.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        """Refused here, with the setting's name, rather than by the driver at first use;
        the URL is never quoted (it may hold a password)."""
        if not value:
            return None
        try:
            backend = make_url(normalise_database_url(value)).get_backend_name()
        except ArgumentError:
            backend = None
        if backend not in SUPPORTED_DATABASES:
            raise ValueError(
                "not a URL of a database Mercado runs on: sqlite:///path/shop.db or "
                "postgresql://user:password@host:5432/name"
            )
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: Any) -> Any:
        """A JSON list or comma-separated origins; a trailing slash is dropped (browsers
        never send one), anything else after the host is refused."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if not isinstance(value, list):
            return value
        origins = [str(origin).strip().removesuffix("/") for origin in value]
        origins = [origin for origin in origins if origin]
        for origin in origins:
            if origin != "*" and not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin like https://shop.example.com")
        return origins

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``MERCADO_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.5`` (a list is taken as is)."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        """Every problem at once, so a deployment is fixed in one go; no value is quoted."""
        if self.env == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError("; ".join(problems))
        return self

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{self.resolved_home / 'shop.db'}"

    @property
    def media_dir(self) -> Path:
        return self.resolved_home / "media"

    @property
    def lake_dir(self) -> Path:
        """The clickstream landing zone (``events/`` and ``events_bad/``)."""
        return self.resolved_home / "lake"

    @property
    def recommender_dir(self) -> Path:
        """Recommender artifacts: version folders and the LATEST / CHALLENGER pointers."""
        return self.resolved_home / "artifacts" / "recommender"

    @property
    def published_audiences_dir(self) -> Path:
        """Audience files the audiences pipeline publishes (``<name>/LATEST``,
        ``<name>/<version>/``), served read-only at ``/marketing``."""
        return self.resolved_home / "published" / "audiences"

    @property
    def mailbox_dir(self) -> Path:
        """E-mails the built-in mailer delivers, one ``.eml`` file each."""
        return self.resolved_home / "mailbox"

    @property
    def simulation_dir(self) -> Path:
        """Simulator output, e.g. ground truth in ``truth/``."""
        return self.resolved_home / "sim"


def production_problems(settings: Settings) -> list[str]:
    """What production refuses: development secrets, a short key, no explicit database."""
    problems = []
    secret_key = settings.secret_key.get_secret_value()
    if secret_key == DEV_SECRET_KEY:
        problems.append("MERCADO_SECRET_KEY must be set in production")
    elif len(secret_key) < 32:
        problems.append("MERCADO_SECRET_KEY must be at least 32 characters")
    for name, default in (
        ("payments_webhook_secret", DEV_PAYMENTS_WEBHOOK_SECRET),
        ("shipping_webhook_secret", DEV_SHIPPING_WEBHOOK_SECRET),
    ):
        if getattr(settings, name).get_secret_value() == default:
            problems.append(f"MERCADO_{name.upper()} must be set in production")
    if settings.database_url is None:
        problems.append("MERCADO_DATABASE_URL must be set in production")
    return problems


def normalise_database_url(url: str) -> str:
    """Accept the libpq-style ``postgresql://`` URLs people paste and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
