"""Settings: embedded defaults for development, refused in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shop_api.core.config import DEV_SECRET_KEY, Settings, normalise_database_url

STRONG_SECRET = "s" * 48
WEBHOOK_SECRETS = {
    "payments_webhook_secret": "whsec_" + "p" * 32,
    "shipping_webhook_secret": "whsec_" + "s" * 32,
}


def test_development_defaults_use_sqlite_under_home(tmp_path):
    settings = Settings(home=tmp_path)

    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'shop.db'}"
    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY


def test_production_refuses_the_development_secret():
    with pytest.raises(ValidationError, match="MERCADO_SECRET_KEY must be set"):
        Settings(env="production", database_url="postgresql://db/shop")


def test_production_refuses_a_short_secret():
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(env="production", secret_key="short", database_url="postgresql://db/shop")


def test_production_requires_an_explicit_database():
    with pytest.raises(ValidationError, match="MERCADO_DATABASE_URL"):
        Settings(env="production", secret_key=STRONG_SECRET, **WEBHOOK_SECRETS)


@pytest.mark.parametrize("missing", sorted(WEBHOOK_SECRETS))
def test_production_refuses_development_webhook_secrets(missing):
    secrets = {name: value for name, value in WEBHOOK_SECRETS.items() if name != missing}
    with pytest.raises(ValidationError, match=f"MERCADO_{missing.upper()} must be set"):
        Settings(
            env="production", secret_key=STRONG_SECRET, database_url="postgresql://db/s", **secrets
        )


def test_production_accepts_real_secrets():
    settings = Settings(
        env="production",
        secret_key=STRONG_SECRET,
        database_url="postgresql://db/shop",
        **WEBHOOK_SECRETS,
    )

    assert settings.sqlalchemy_url == "postgresql+psycopg://db/shop"


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path))
    monkeypatch.setenv("MERCADO_DEFAULT_CURRENCY", "BRL")

    settings = Settings()

    assert settings.resolved_home == tmp_path.resolve()
    assert settings.default_currency == "BRL"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_are_normalised_to_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


def test_the_default_currency_is_an_iso_4217_code(tmp_path):
    assert Settings(home=tmp_path, default_currency="BRL").default_currency == "BRL"
    with pytest.raises(ValidationError, match="ISO 4217"):
        Settings(home=tmp_path, default_currency="ZZZ")
