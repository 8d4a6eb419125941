"""Settings for every Mercado process, read from ``MERCADO_*`` environment variables.

Development defaults let ``make demo`` run with no configuration; the same defaults are
refused when ``MERCADO_ENV=production`` so a deployment can never run on them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"
DEV_PAYMENTS_WEBHOOK_SECRET = "whsec_dev_payments_do_not_use_in_production"
DEV_SHIPPING_WEBHOOK_SECRET = "whsec_dev_shipping_do_not_use_in_production"


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

    # Argon2 cost; tests lower it, production keeps the OWASP-recommended defaults.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=1024)

    default_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
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
    # Server-side events on read paths are flushed to the lake at least this often.
    event_flush_seconds: float = Field(default=1.0, gt=0)

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

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        if self.env == "production":
            if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
                raise ValueError("MERCADO_SECRET_KEY must be set in production")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("MERCADO_SECRET_KEY must be at least 32 characters")
            for name, default in (
                ("payments_webhook_secret", DEV_PAYMENTS_WEBHOOK_SECRET),
                ("shipping_webhook_secret", DEV_SHIPPING_WEBHOOK_SECRET),
            ):
                if getattr(self, name).get_secret_value() == default:
                    raise ValueError(f"MERCADO_{name.upper()} must be set in production")
            if self.database_url is None:
                raise ValueError("MERCADO_DATABASE_URL must be set in production")
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
    def simulation_dir(self) -> Path:
        """Simulator output, e.g. ground truth in ``truth/``."""
        return self.resolved_home / "sim"


def normalise_database_url(url: str) -> str:
    """Accept the libpq-style ``postgresql://`` URLs people paste and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
