"""Accounts: sign-up, login, the caller's profile and phone, ad consents, passwords and tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.core.config import Settings
from shop_api.core.security import create_access_token
from shop_api.models import User
from tests.factories import Actor, Factory, unique_email

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple battery horse correct"


def signup(client: TestClient, **overrides: Any):
    body = {"email": unique_email("signup"), "password": PASSWORD, "display_name": "Ana"}
    body.update(overrides)
    return client.post("/auth/signup", json=body)


def login(client: TestClient, email: str, password: str):
    return client.post("/auth/token", data={"username": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def stored_password_hash(app: FastAPI, user: Actor) -> str | None:
    """Read in a session of its own, so no earlier snapshot hides the latest commit."""
    with app.state.database.sessions() as session:
        return session.scalar(select(User.password_hash).where(User.id == user.id))


class TestSignup:
    def test_valid(self, client: TestClient):
        email = unique_email("ana")

        response = signup(client, email=email, display_name="  Ana Pérez ")

        assert response.status_code == 201, response.text
        user = response.json()
        assert user["email"] == email
        assert user["display_name"] == "Ana Pérez"
        assert user["role"] == "shopper"
        assert user["ad_user_data_consent"] is False
        assert user["ad_personalization_consent"] is False
        assert user["phone"] is None
        uuid.UUID(user["id"])

    def test_password_is_never_returned(self, client: TestClient):
        response = signup(client)

        assert response.status_code == 201, response.text
        assert not {"password", "password_hash"} & set(response.json())
        assert PASSWORD not in response.text

    def test_seller(self, client: TestClient):
        response = signup(client, role="seller")

        assert response.status_code == 201, response.text
        assert response.json()["role"] == "seller"

    def test_email_is_normalised_to_lowercase(self, client: TestClient):
        local = f"Mixed.Case-{uuid.uuid4().hex[:8]}"

        response = signup(client, email=f"{local}@Example.COM")

        assert response.status_code == 201, response.text
        assert response.json()["email"] == f"{local.lower()}@example.com"

    def test_duplicate_email_is_a_conflict_whatever_the_case(self, client: TestClient):
        email = unique_email("twice")
        assert signup(client, email=email).status_code == 201

        response = signup(client, email=email.upper())

        assert_error(response, 409, "conflict")

    def test_staff_cannot_sign_up(self, client: TestClient, db: Session):
        email = unique_email("wannabe")

        response = signup(client, email=email, role="staff")

        assert_error(response, 422, "validation_error")
        assert db.scalar(select(User.id).where(User.email == email)) is None

    @pytest.mark.parametrize(
        "overrides",
        [
            pytest.param({"password": ""}, id="empty password"),
            pytest.param({"password": "123456789"}, id="password of 9 characters"),
            pytest.param({"password": "x" * 129}, id="password of 129 characters"),
            pytest.param({"password": " " * 12}, id="blank password"),
            pytest.param({"password": "aaaaaaaaaaaa"}, id="one repeated character"),
            pytest.param({"password": "abababababab"}, id="two alternating characters"),
            pytest.param({"password": "1234567890"}, id="common password"),
            pytest.param({"password": "Password123"}, id="common password, any case"),
            pytest.param({"email": "not-an-email"}, id="email without @"),
            pytest.param({"email": "ana@"}, id="email without domain"),
            pytest.param({"email": "ana@example"}, id="email without TLD"),
            pytest.param({"display_name": ""}, id="empty display name"),
            pytest.param({"display_name": "   "}, id="blank display name"),
            pytest.param({"display_name": "x" * 101}, id="display name too long"),
            pytest.param({"role": "admin"}, id="unknown role"),
            pytest.param({"consent_source": "Signup Form!"}, id="bad consent source"),
            pytest.param({"is_active": False}, id="unknown field"),
        ],
    )
    def test_validation(self, client: TestClient, overrides: dict[str, Any]):
        response = signup(client, **overrides)

        error = assert_error(response, 422, "validation_error")
        assert error["details"], "a 422 names the offending fields"

    @pytest.mark.parametrize("missing", ["email", "password", "display_name"])
    def test_missing_field(self, client: TestClient, missing: str):
        body = {"email": unique_email(), "password": PASSWORD, "display_name": "Ana"}
        del body[missing]

        response = client.post("/auth/signup", json=body)

        error = assert_error(response, 422, "validation_error")
        assert ["body", missing] in [detail["loc"] for detail in error["details"]]


class TestLogin:
    def test_valid(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = login(client, user.email, user.password)

        assert response.status_code == 200, response.text
        token = response.json()
        assert token["token_type"] == "bearer"
        assert token["expires_in"] > 0
        me = client.get("/me", headers=bearer(token["access_token"]))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == str(user.id)

    def test_email_is_case_insensitive(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = login(client, user.email.upper(), user.password)

        assert response.status_code == 200, response.text

    def test_wrong_password(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = login(client, user.email, "not the password")

        error = assert_error(response, 401, "unauthorized")
        assert error["details"] is None
        assert response.headers["www-authenticate"] == "Bearer"

    def test_unknown_email_looks_like_a_wrong_password(self, client: TestClient, factory: Factory):
        user = factory.user()
        wrong_password = login(client, user.email, "not the password")

        response = login(client, unique_email("nobody"), PASSWORD)

        error = assert_error(response, 401, "unauthorized")
        assert error == wrong_password.json()["error"], "no hint whether the account exists"

    @pytest.mark.parametrize(
        "form",
        [
            pytest.param({"username": "ana@example.com"}, id="no password"),
            pytest.param({"password": PASSWORD}, id="no username"),
        ],
    )
    def test_validation(self, client: TestClient, form: dict[str, str]):
        response = client.post("/auth/token", data=form)

        assert_error(response, 422, "validation_error")

    def test_json_body_is_refused(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = client.post(
            "/auth/token", json={"username": user.email, "password": user.password}
        )

        assert_error(response, 422, "validation_error")


class TestPasswordStorage:
    def test_stored_as_argon2_hash(self, client: TestClient, db: Session):
        email = unique_email("hashed")
        assert signup(client, email=email).status_code == 201

        stored = db.scalar(select(User.password_hash).where(User.email == email))

        assert stored is not None
        assert stored.startswith("$argon2")
        assert PASSWORD not in stored

    def test_same_password_gives_different_hashes(self, client: TestClient, db: Session):
        emails = [unique_email("salted"), unique_email("salted")]
        for email in emails:
            assert signup(client, email=email).status_code == 201

        hashes = db.scalars(select(User.password_hash).where(User.email.in_(emails))).all()

        assert len(set(hashes)) == 2


class TestReadMe:
    def test_anonymous(self, client: TestClient):
        assert_error(client.get("/me"), 401, "unauthorized")

    def test_valid(self, client: TestClient, factory: Factory):
        user = factory.user("seller")

        response = client.get("/me", headers=user.headers)

        assert response.status_code == 200, response.text
        me = response.json()
        assert me["id"] == str(user.id)
        assert me["email"] == user.email
        assert me["role"] == "seller"
        assert "password_hash" not in me


class TestUpdateMe:
    def test_anonymous(self, client: TestClient):
        assert_error(client.patch("/me", json={"display_name": "X"}), 401, "unauthorized")

    def test_display_name(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = client.patch("/me", json={"display_name": " Bea "}, headers=user.headers)

        assert response.status_code == 200, response.text
        assert response.json()["display_name"] == "Bea"
        assert client.get("/me", headers=user.headers).json()["display_name"] == "Bea"

    def test_empty_body_changes_nothing(self, client: TestClient, factory: Factory):
        user = factory.user()
        before = client.get("/me", headers=user.headers).json()

        response = client.patch("/me", json={}, headers=user.headers)

        assert response.status_code == 200, response.text
        assert response.json()["display_name"] == before["display_name"]
        assert response.json() == before

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"display_name": ""}, id="empty display name"),
            pytest.param({"display_name": " \t "}, id="blank display name"),
            pytest.param({"display_name": "x" * 101}, id="display name too long"),
            pytest.param({"role": "staff"}, id="role cannot be changed"),
            pytest.param({"email": "other@example.com"}, id="email cannot be changed"),
            pytest.param({"ad_user_data_consent": "maybe"}, id="consent is a boolean"),
            pytest.param(
                {"ad_personalization_consent": True, "consent_source": "Bad!"}, id="bad source"
            ),
            pytest.param({"marketing_consent": True}, id="the old single flag is gone"),
            pytest.param({"phone": "11 91234-5678"}, id="phone without country code"),
            pytest.param({"phone": "+1 555"}, id="phone too short to be valid"),
            pytest.param({"phone": "+55 11 9123"}, id="phone not a valid number"),
            pytest.param({"phone": "call me"}, id="phone not digits"),
            pytest.param({"phone": "+" + "1" * 40}, id="phone too long"),
            pytest.param(
                {"new_password": "short", "current_password": PASSWORD}, id="new password short"
            ),
            pytest.param(
                {"new_password": "qwertyuiop", "current_password": PASSWORD},
                id="new password common",
            ),
            pytest.param(
                {"new_password": "zzzzzzzzzzzz", "current_password": PASSWORD},
                id="new password one repeated character",
            ),
            pytest.param({"new_password": NEW_PASSWORD}, id="new password without current"),
        ],
    )
    def test_validation(self, client: TestClient, factory: Factory, body: dict[str, Any]):
        user = factory.user()
        before = client.get("/me", headers=user.headers).json()

        response = client.patch("/me", json=body, headers=user.headers)

        assert_error(response, 422, "validation_error")
        assert client.get("/me", headers=user.headers).json() == before


class TestPhone:
    @pytest.mark.parametrize(
        ("given", "stored"),
        [
            pytest.param("+55 11 91234-5678", "+5511912345678", id="Brazilian mobile"),
            pytest.param(" +1 (650) 253-0000 ", "+16502530000", id="US with brackets"),
            pytest.param("+44 20 7946 0958", "+442079460958", id="UK landline"),
        ],
    )
    def test_given_at_signup_is_stored_in_e164(self, client: TestClient, given: str, stored: str):
        response = signup(client, phone=given)

        assert response.status_code == 201, response.text
        assert response.json()["phone"] == stored

    def test_invalid_at_signup_is_refused(self, client: TestClient):
        email = unique_email("badphone")

        assert_error(signup(client, email=email, phone="12345"), 422, "validation_error")
        assert login(client, email, PASSWORD).status_code == 401

    def test_changed_kept_and_removed_with_patch(self, client: TestClient, factory: Factory):
        user = factory.user(phone="+5511912345678")

        changed = client.patch("/me", json={"phone": "+351 912 345 678"}, headers=user.headers)
        kept = client.patch("/me", json={"display_name": "Ana"}, headers=user.headers)
        after_kept = client.get("/me", headers=user.headers).json()["phone"]
        removed = client.patch("/me", json={"phone": None}, headers=user.headers)

        assert changed.status_code == 200, changed.text
        assert changed.json()["phone"] == "+351912345678"
        assert kept.status_code == 200, kept.text
        assert after_kept == "+351912345678"
        assert removed.status_code == 200, removed.text
        assert client.get("/me", headers=user.headers).json()["phone"] is None


def history_of(client: TestClient, headers: dict[str, str]) -> list[tuple[str, bool, str]]:
    """(purpose, granted, source), oldest first; changes made at once by purpose name."""
    events = client.get("/me/consents", headers=headers).json()
    assert [e["recorded_at"] for e in events] == sorted(e["recorded_at"] for e in events)
    events.sort(key=lambda e: (parse_time(e["recorded_at"]), e["purpose"]))
    return [(e["purpose"], e["granted"], e["source"]) for e in events]


class TestAdConsents:
    def test_granted_at_signup(self, client: TestClient):
        before = datetime.now(UTC)
        email = unique_email("consenting")

        response = signup(
            client, email=email, ad_user_data_consent=True, ad_personalization_consent=True,
            consent_source="signup_form",
        )  # fmt: skip

        after = datetime.now(UTC)
        assert response.status_code == 201, response.text
        user = response.json()
        for purpose in ("ad_user_data", "ad_personalization"):
            assert user[f"{purpose}_consent"] is True
            assert user[f"{purpose}_consent_source"] == "signup_form"
            assert before <= parse_time(user[f"{purpose}_consent_at"]) <= after
        token = login(client, email, PASSWORD).json()["access_token"]
        history = client.get("/me/consents", headers=bearer(token)).json()
        assert all(before <= parse_time(e["recorded_at"]) <= after for e in history)
        assert history_of(client, bearer(token)) == [
            ("ad_personalization", True, "signup_form"),
            ("ad_user_data", True, "signup_form"),
        ]

    def test_purposes_are_chosen_apart_at_signup(self, client: TestClient):
        response = signup(client, ad_user_data_consent=True)

        assert response.status_code == 201, response.text
        assert response.json()["ad_user_data_consent"] is True
        assert response.json()["ad_personalization_consent"] is False

    def test_declined_at_signup_is_recorded_too(self, client: TestClient):
        email = unique_email("declining")

        response = signup(client, email=email)

        assert response.status_code == 201, response.text
        assert response.json()["ad_user_data_consent"] is False
        assert response.json()["ad_user_data_consent_at"] is not None
        assert response.json()["ad_personalization_consent_at"] is not None
        token = login(client, email, PASSWORD).json()["access_token"]
        assert history_of(client, bearer(token)) == [
            ("ad_personalization", False, "api"),
            ("ad_user_data", False, "api"),
        ]

    def test_changes_are_appended_with_time_and_source(self, client: TestClient, factory: Factory):
        user = factory.user()
        before = datetime.now(UTC)

        granted = client.patch(
            "/me",
            json={"ad_user_data_consent": True, "consent_source": "settings_page"},
            headers=user.headers,
        )
        withdrawn = client.patch(
            "/me",
            json={"ad_user_data_consent": False, "consent_source": "email_footer"},
            headers=user.headers,
        )

        after = datetime.now(UTC)
        assert granted.status_code == 200, granted.text
        assert withdrawn.status_code == 200, withdrawn.text
        me = withdrawn.json()
        assert me["ad_user_data_consent"] is False
        assert me["ad_user_data_consent_source"] == "email_footer"
        assert before <= parse_time(me["ad_user_data_consent_at"]) <= after
        assert me["ad_personalization_consent_source"] == "signup"  # untouched
        assert history_of(client, user.headers) == [
            ("ad_personalization", False, "signup"),
            ("ad_user_data", False, "signup"),
            ("ad_user_data", True, "settings_page"),
            ("ad_user_data", False, "email_footer"),
        ]
        times = [
            parse_time(e["recorded_at"])
            for e in client.get("/me/consents", headers=user.headers).json()
        ]
        assert all(before <= t <= after for t in times[2:])

    def test_repeating_the_current_choice_records_nothing(
        self, client: TestClient, factory: Factory
    ):
        user = factory.user(ad_consent=True)

        response = client.patch(
            "/me",
            json={
                "ad_user_data_consent": True,
                "ad_personalization_consent": True,
                "consent_source": "settings_page",
            },
            headers=user.headers,
        )

        assert response.status_code == 200, response.text
        assert response.json()["ad_user_data_consent_source"] == "signup"
        assert history_of(client, user.headers) == [
            ("ad_personalization", True, "signup"),
            ("ad_user_data", True, "signup"),
        ]

    def test_history_is_private(self, client: TestClient, factory: Factory):
        user = factory.user(ad_consent=True)
        other = factory.user()

        response = client.get("/me/consents", headers=other.headers)

        assert response.status_code == 200, response.text
        assert [e["granted"] for e in response.json()] == [False, False]
        assert client.get("/me/consents", headers=user.headers).json()[0]["granted"] is True

    def test_anonymous(self, client: TestClient):
        assert_error(client.get("/me/consents"), 401, "unauthorized")


class TestPasswordChange:
    def change(self, client: TestClient, user: Actor, current: str, new: str = NEW_PASSWORD):
        return client.patch(
            "/me",
            json={"current_password": current, "new_password": new},
            headers=user.headers,
        )

    def test_valid(self, client: TestClient, factory: Factory, app: FastAPI):
        user = factory.user()
        old_hash = stored_password_hash(app, user)

        response = self.change(client, user, current=user.password)

        assert response.status_code == 200, response.text
        new_hash = stored_password_hash(app, user)
        assert new_hash != old_hash
        assert new_hash.startswith("$argon2")
        assert login(client, user.email, NEW_PASSWORD).status_code == 200
        assert_error(login(client, user.email, user.password), 401, "unauthorized")

    def test_signs_out_every_existing_token(self, client: TestClient, factory: Factory):
        user = factory.user()
        second_session = login(client, user.email, user.password).json()["access_token"]

        assert self.change(client, user, current=user.password).status_code == 200

        assert_error(client.get("/me", headers=user.headers), 401, "unauthorized")
        assert_error(client.get("/me", headers=bearer(second_session)), 401, "unauthorized")
        fresh = login(client, user.email, NEW_PASSWORD).json()["access_token"]
        assert client.get("/me", headers=bearer(fresh)).status_code == 200

    def test_wrong_current_password_changes_nothing(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = client.patch(
            "/me",
            json={
                "current_password": "not the password",
                "new_password": NEW_PASSWORD,
                "display_name": "Should not stick",
            },
            headers=user.headers,
        )

        assert_error(response, 401, "unauthorized")
        me = client.get("/me", headers=user.headers)
        assert me.status_code == 200, "the session survives a failed change"
        assert me.json()["display_name"] != "Should not stick"
        assert login(client, user.email, user.password).status_code == 200
        assert_error(login(client, user.email, NEW_PASSWORD), 401, "unauthorized")

    def test_current_password_is_required(self, client: TestClient, factory: Factory):
        user = factory.user()

        response = client.patch("/me", json={"new_password": NEW_PASSWORD}, headers=user.headers)

        error = assert_error(response, 422, "validation_error")
        assert "current_password" in str(error["details"])
        assert login(client, user.email, user.password).status_code == 200


def _expired(settings: Settings, user: Actor, version: int) -> str:
    issued = datetime.now(UTC) - timedelta(minutes=settings.access_token_minutes + 1)
    return create_access_token(settings, user.id, version, issued)


def _signed(settings: Settings, payload: dict[str, Any], key: str | None = None) -> str:
    return jwt.encode(payload, key or settings.secret_key.get_secret_value(), algorithm="HS256")


def _claims(user: Actor, version: int, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "ver": version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


BAD_TOKENS: dict[str, Callable[[Settings, Actor], str]] = {
    "garbage": lambda s, u: "not-a-token",
    "truncated": lambda s, u: create_access_token(s, u.id, 0, datetime.now(UTC))[:-5],
    "expired": lambda s, u: _expired(s, u, 0),
    "signed with another key": lambda s, u: _signed(s, _claims(u, 0), key="x" * 32),
    "unsigned (alg none)": lambda s, u: jwt.encode(_claims(u, 0), None, algorithm="none"),
    "unknown user": lambda s, u: create_access_token(s, uuid.uuid4(), 0, datetime.now(UTC)),
    "subject not a uuid": lambda s, u: _signed(s, _claims(u, 0, sub="admin")),
    "no version claim": lambda s, u: _signed(s, _claims(u, 0, ver=None)),
    "no expiry claim": lambda s, u: _signed(s, _claims(u, 0, exp=None)),
    "stale version": lambda s, u: create_access_token(s, u.id, 7, datetime.now(UTC)),
}


class TestTokens:
    @pytest.mark.parametrize("kind", BAD_TOKENS)
    def test_bad_token_is_refused(self, client: TestClient, factory: Factory, app: FastAPI, kind):
        user = factory.user()
        token = BAD_TOKENS[kind](app.state.settings, user)

        response = client.get("/me", headers=bearer(token))

        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"

    def test_bad_token_is_not_treated_as_anonymous(self, client: TestClient, factory: Factory):
        """A public page refuses a broken token instead of silently serving it anonymously."""
        listing = factory.listing(factory.user("seller"))
        assert client.get(f"/listings/{listing['id']}").status_code == 200

        response = client.get(f"/listings/{listing['id']}", headers=bearer("not-a-token"))

        assert_error(response, 401, "unauthorized")

    def test_other_scheme_is_anonymous(self, client: TestClient):
        response = client.get("/me", headers={"Authorization": "Basic YW5hOnNlY3JldA=="})

        assert_error(response, 401, "unauthorized")

    def test_valid_token_from_factory(self, client: TestClient, factory: Factory):
        user = factory.user()

        assert client.get("/me", headers=user.headers).status_code == 200
