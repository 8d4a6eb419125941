"""A user's mistake on the command line is one line on stderr and exit code 2.

No traceback, every problem named at once, and nothing the user gave echoed back (it may
be a secret). These drive the real ``mercado`` command (Typer's runner, and once the
console script in a child process) against throwaway SQLite databases.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mercado_cli.main import app
from shop_api.core.config import get_settings
from shop_api.core.migrations import upgrade_to_head

GIVEN_SECRET = "given-short-secret-not-echoed"  # under 32 characters
DB_PASSWORD = "db-password-that-must-not-be-echoed"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A MERCADO_HOME with a migrated SQLite database, and no stray MERCADO_* settings."""
    for name in list(os.environ):
        if name.startswith("MERCADO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MERCADO_HOME", str(tmp_path))
    monkeypatch.setenv("MERCADO_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("MERCADO_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("MERCADO_NEW_USER_PASSWORD", "a decent passphrase")
    upgrade_to_head(f"sqlite:///{tmp_path / 'shop.db'}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def mercado(*args: str, env: dict[str, str] | None = None) -> Result:
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


def assert_one_line_user_error(result: Result, *names: str) -> str:
    """Exit code 2, a single line on stderr that names each of ``names``; returns it."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released: connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_impossible_simulation_start_day_is_a_usage_error(home: Path) -> None:
    result = mercado("simulate", "--start", "2026-13-45", "--shoppers", "1", "--days", "1")

    assert_one_line_user_error(result, "--start", "month value is outside expected range")
    assert not (home / "sim").exists()


def test_an_impossible_pipeline_day_is_refused_before_anything_runs(home: Path) -> None:
    result = mercado("pipeline", "run", "--day", "2026-02-30")

    assert_one_line_user_error(result, "--day", "day value is outside expected range")
    assert not (home / "logs").exists()  # the pipeline never started


def test_a_database_url_of_an_unknown_kind_is_named_without_a_traceback(home: Path) -> None:
    result = mercado("db", "upgrade", env={"MERCADO_DATABASE_URL": "foo://bar"})

    assert_one_line_user_error(result, "MERCADO_DATABASE_URL")


def test_an_unparseable_database_url_is_not_echoed(home: Path) -> None:
    result = mercado("db", "upgrade", env={"MERCADO_DATABASE_URL": f"not a url {DB_PASSWORD}"})

    line = assert_one_line_user_error(result, "MERCADO_DATABASE_URL")
    assert DB_PASSWORD not in result.output and DB_PASSWORD not in line


def test_an_unreachable_postgresql_is_one_line_without_its_password(home: Path) -> None:
    url = f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:{closed_port()}/shop"

    result = mercado("db", "upgrade", env={"MERCADO_DATABASE_URL": url})

    line = assert_one_line_user_error(result, "127.0.0.1", "refused")
    assert DB_PASSWORD not in result.output and DB_PASSWORD not in line


def test_production_without_its_settings_names_every_missing_one_at_once(home: Path) -> None:
    result = mercado(
        "serve",
        "--no-migrate",
        env={"MERCADO_ENV": "production", "MERCADO_SECRET_KEY": GIVEN_SECRET},
    )

    line = assert_one_line_user_error(
        result,
        "MERCADO_SECRET_KEY",
        "at least 32 characters",
        "MERCADO_PAYMENTS_WEBHOOK_SECRET",
        "MERCADO_SHIPPING_WEBHOOK_SECRET",
        "MERCADO_DATABASE_URL",
    )
    assert GIVEN_SECRET not in result.output and GIVEN_SECRET not in line


def test_a_setting_of_the_wrong_type_is_named_with_its_variable(home: Path) -> None:
    result = mercado(
        "db",
        "upgrade",
        env={"MERCADO_ACCESS_TOKEN_MINUTES": "soon", "MERCADO_DB_POOL_SIZE": "0"},
    )

    line = assert_one_line_user_error(
        result, "MERCADO_ACCESS_TOKEN_MINUTES", "MERCADO_DB_POOL_SIZE"
    )
    assert "soon" not in line


def test_an_unknown_role_and_a_bad_email_are_named_together(home: Path) -> None:
    result = mercado("users", "create", "--email", "not-an-email", "--role", "admin")

    assert_one_line_user_error(result, "email", "role", "shopper", "seller", "staff")


def test_an_email_without_an_at_sign_creates_no_account(home: Path) -> None:
    result = mercado("users", "create", "--email", "not-an-email")

    assert_one_line_user_error(result, "email")


def test_a_short_password_is_named_and_not_echoed(home: Path) -> None:
    result = mercado(
        "users",
        "create",
        "--email",
        "ops@example.com",
        env={"MERCADO_NEW_USER_PASSWORD": "short"},
    )

    line = assert_one_line_user_error(result, "password", "10 characters")
    assert "short" not in line.replace("10 characters", "")


def test_a_taken_email_is_one_line(home: Path) -> None:
    first = mercado("users", "create", "--email", "ops@example.com")
    assert first.exit_code == 0, first.output
    assert "created staff ops@example.com" in first.stdout

    again = mercado("users", "create", "--email", "OPS@example.com", "--role", "seller")

    assert_one_line_user_error(again, "already exists")


def test_a_missing_option_is_one_line_too(home: Path) -> None:
    result = mercado("users", "create")

    assert_one_line_user_error(result, "--email")


def test_the_console_script_reports_production_settings_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCADO_")}
    env.update(
        MERCADO_HOME=str(tmp_path), MERCADO_ENV="production", MERCADO_SECRET_KEY=GIVEN_SECRET
    )

    done = subprocess.run(
        [sys.executable, "-m", "mercado_cli.main", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "MERCADO_DATABASE_URL" in done.stderr
    assert GIVEN_SECRET not in done.stderr
