"""The password policy: signup and password change refuse guessable passwords with a 422
that names the weakness; strong ones pass. (Password reset: ``test_password_reset.py``.)"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.accounts.password_policy import check_password
from shop_api.core.errors import Unprocessable
from shop_api.models import User
from tests.factories import Factory, assert_error

DISPLAY_NAME = "Ana Pérez"

# Each is at least 10 characters, so only the policy (not the length rule) can refuse it.
COMMON_WEAK = [
    "letmein123",
    "Summer2024!",
    "Welcome2024!",
    "password123",
    "Password123!",
    "P@ssword2024",
    "Passw0rd2024",
    "qwerty12345",
    "Qwerty!2345",
    "qwertyuiop",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "asdfghjkl123",
    "1234567890",
    "Aa123456789",
    "abc123abc123",
    "iloveyou123",
    "monkey12345",
    "football123",
    "baseball123",
    "dragon12345",
    "sunshine123",
    "princess123",
    "trustno1234",
    "michael1234",
    "jennifer2020",
]
STRONG = [
    "correct horse battery",
    "staple battery horse correct",
    "vintage-lens-drawer-42",
    "Kq7#vR2p!xW9mZt",
]


def personal_email() -> str:
    return f"ana.perez.{uuid.uuid4().hex[:6]}@example.com"


def personal_weak(email: str) -> list[str]:
    """Passwords made of the account's own details."""
    local = email.split("@")[0]
    return [email, email.upper(), f"{local}!!", "AnaPerez1990", "ana perez 2024"]


def signup(client: TestClient, email: str, password: str):
    return client.post(
        "/auth/signup",
        json={"email": email, "password": password, "display_name": DISPLAY_NAME},
    )


def assert_weak_password(response: Any, field: str) -> dict[str, Any]:
    error = assert_error(response, 422, "validation_error")
    assert error["message"].startswith("The password is too weak."), error
    [detail] = error["details"]
    assert detail["loc"] == ["body", field]
    assert detail["type"] == "weak_password"
    assert detail["msg"], "the weakness is named"
    assert isinstance(detail["suggestions"], list) and detail["suggestions"]
    return detail


class TestSignup:
    @pytest.mark.parametrize("password", COMMON_WEAK)
    def test_common_weak_passwords_are_refused(
        self, client: TestClient, db: Session, password: str
    ):
        email = personal_email()

        response = signup(client, email, password)

        assert_weak_password(response, "password")
        assert db.scalar(select(User.id).where(User.email == email)) is None

    @pytest.mark.parametrize("which", range(5))
    def test_the_accounts_own_details_are_refused(self, client: TestClient, which: int):
        email = personal_email()
        password = personal_weak(email)[which]

        response = signup(client, email, password)

        assert_weak_password(response, "password")

    def test_the_message_is_zxcvbns_feedback(self, client: TestClient):
        response = signup(client, personal_email(), "letmein123")

        detail = assert_weak_password(response, "password")
        assert detail["msg"] == "This is similar to a commonly used password."
        assert "Add another word or two. Uncommon words are better." in detail["suggestions"]

    def test_own_email_is_named(self, client: TestClient):
        email = personal_email()

        response = signup(client, email, email)

        detail = assert_weak_password(response, "password")
        assert detail["msg"] == "It contains your e-mail address."

    @pytest.mark.parametrize("password", STRONG)
    def test_strong_passwords_are_accepted(self, client: TestClient, password: str):
        email = personal_email()

        response = signup(client, email, password)

        assert response.status_code == 201, response.text
        login = client.post("/auth/token", data={"username": email, "password": password})
        assert login.status_code == 200, login.text


class TestPasswordChange:
    def change(self, client: TestClient, headers: dict[str, str], current: str, new: str):
        return client.patch(
            "/me", json={"current_password": current, "new_password": new}, headers=headers
        )

    @pytest.mark.parametrize("password", ["letmein123", "Summer2024!", "qwertyuiop"])
    def test_common_weak_passwords_are_refused(
        self, client: TestClient, factory: Factory, app: FastAPI, password: str
    ):
        user = factory.user()

        response = self.change(client, user.headers, user.password, password)

        assert_weak_password(response, "new_password")
        login = client.post("/auth/token", data={"username": user.email, "password": password})
        assert login.status_code == 401, "the weak password was not set"

    def test_own_email_is_refused(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = self.change(client, user.headers, user.password, user.email)

        detail = assert_weak_password(response, "new_password")
        assert detail["msg"] == "It contains your e-mail address."

    def test_a_new_display_name_counts_too(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = client.patch(
            "/me",
            json={
                "display_name": "Bartholomew Quince",
                "current_password": user.password,
                "new_password": "bartholomew quince rocks",
            },
            headers=user.headers,
        )

        detail = assert_weak_password(response, "new_password")
        assert detail["msg"] == "It contains your name."
        me = client.get("/me", headers=user.headers).json()
        assert me["display_name"] != "Bartholomew Quince", "nothing of the change stuck"

    def test_strong_password_is_accepted(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = self.change(client, user.headers, user.password, "vintage-lens-drawer-42")

        assert response.status_code == 200, response.text


class TestPolicyFunction:
    def test_short_names_do_not_forbid_ordinary_words(self):
        check_password("banana split tower", email="ana@example.com", display_names=["Ana"])

    def test_accents_and_punctuation_do_not_hide_the_name(self):
        with pytest.raises(Unprocessable) as raised:
            check_password(
                "zoe-anaperez-1990", email="zoe@example.com", display_names=["Ana Pérez"]
            )
        assert raised.value.details[0]["msg"] == "It contains your name."

    def test_personal_words_lower_the_score(self):
        """Not the whole local part, but one of its words: zxcvbn is told them."""
        with pytest.raises(Unprocessable):
            check_password("Zorblat2024!", email="zorblat.quimby@example.com")
        check_password("Zorblat2024!", email="someone@example.com")


def test_cli_users_create_applies_the_policy(monkeypatch: pytest.MonkeyPatch):
    """``mercado users create`` refuses a weak password before it opens the database."""
    from typer.testing import CliRunner

    from mercado_cli.main import app as cli

    monkeypatch.setenv("MERCADO_NEW_USER_PASSWORD", "Summer2024!")
    monkeypatch.setenv("MERCADO_DATABASE_URL", "sqlite:////nonexistent/dir/never-opened.db")

    result = CliRunner().invoke(cli, ["users", "create", "--email", "ops@example.com"])

    assert result.exit_code == 2, result.output
    assert "too weak" in result.output
