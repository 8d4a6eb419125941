"""Settings name every problem at once, without quoting values, and parse the CORS list."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shop_api.core.config import Settings

GIVEN_SECRET = "short-given-secret"


def problems(error: ValidationError) -> str:
    return " | ".join(str(e["msg"]) for e in error.errors(include_input=False))


def test_production_names_every_missing_setting_in_one_error() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(env="production", secret_key=GIVEN_SECRET)

    message = problems(caught.value)
    for expected in (
        "MERCADO_SECRET_KEY must be at least 32 characters",
        "MERCADO_PAYMENTS_WEBHOOK_SECRET must be set in production",
        "MERCADO_SHIPPING_WEBHOOK_SECRET must be set in production",
        "MERCADO_DATABASE_URL must be set in production",
    ):
        assert expected in message
    assert GIVEN_SECRET not in message


@pytest.mark.parametrize("url", ["foo://bar", "mysql://u@h/db", "not a url"])
def test_a_database_url_mercado_cannot_run_on_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match=r"sqlite:.*postgresql:") as caught:
        Settings(database_url=url)

    assert caught.value.errors()[0]["loc"] == ("database_url",)
    assert "not a url" not in problems(caught.value)


def test_an_empty_database_url_means_the_embedded_default(tmp_path) -> None:
    settings = Settings(home=tmp_path, database_url="")

    assert settings.database_url is None
    assert settings.sqlalchemy_url.startswith("sqlite:///")


def test_cors_allows_no_origin_by_default() -> None:
    assert Settings().cors_origins == []


@pytest.mark.parametrize(
    "value",
    [
        "http://localhost:5173, https://shop.example.com/",
        '["http://localhost:5173", "https://shop.example.com"]',
    ],
)
def test_cors_origins_come_comma_separated_or_as_a_json_list(monkeypatch, value) -> None:
    monkeypatch.setenv("MERCADO_CORS_ORIGINS", value)

    assert Settings().cors_origins == ["http://localhost:5173", "https://shop.example.com"]


@pytest.mark.parametrize("origin", ["localhost:5173", "http://shop.example.com/app", "ftp://x"])
def test_a_cors_origin_must_be_a_scheme_and_host(monkeypatch, origin) -> None:
    monkeypatch.setenv("MERCADO_CORS_ORIGINS", origin)

    with pytest.raises(ValidationError, match="is not an origin"):
        Settings()
