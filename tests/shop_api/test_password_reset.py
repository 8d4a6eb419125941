"""Password reset by e-mail: the same answer for every address, a link in the mailbox, a
token that works once and not after it expires, stored only as a digest."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from shop_api.accounts import password_reset
from shop_api.core.clock import FrozenClock, SystemClock
from shop_api.core.config import Settings
from shop_api.models import OutboundMessage, PasswordResetToken, User
from tests.factories import Actor, Factory, assert_error, unique_email

NEW_PASSWORD = "quiet lantern meadow 7"
OTHER_PASSWORD = "copper kettle orchard 9"


def ask(client: TestClient, email: str):
    return client.post("/auth/password-reset", json={"email": email})


def confirm(client: TestClient, token: str, new_password: str = NEW_PASSWORD):
    return client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )


def login(client: TestClient, email: str, password: str) -> int:
    return client.post("/auth/token", data={"username": email, "password": password}).status_code


def mailbox(settings: Settings, to: str) -> list[dict[str, str]]:
    """The e-mails the built-in mailer delivered to this address, oldest first."""
    found = []
    for path in sorted(settings.mailbox_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] == to:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found.append({"subject": message["Subject"], "body": body.get_content()})
    return found


def emailed_token(factory: Factory, settings: Settings, email: str) -> str:
    """Deliver the outbox, then read the token from the newest reset e-mail's link."""
    factory.settle()
    messages = mailbox(settings, email)
    assert messages, f"no e-mail to {email}"
    match = re.search(r"reset-password\?token=([A-Za-z0-9_-]+)", messages[-1]["body"])
    assert match, messages[-1]["body"]
    return match.group(1)


@pytest.fixture
def user(factory: Factory) -> Actor:
    return factory.user()


@pytest.fixture
def frozen(app: FastAPI) -> Iterator[FrozenClock]:
    """The app's clock, stopped at now, so a test can move it past the token's expiry."""
    clock, running = FrozenClock(SystemClock().now()), app.state.clock
    app.state.clock = clock
    try:
        yield clock
    finally:
        app.state.clock = running


class TestRequest:
    def test_known_and_unknown_addresses_get_the_same_answer(self, client: TestClient, user: Actor):
        known = ask(client, user.email)
        unknown = ask(client, unique_email("nobody"))

        assert known.status_code == unknown.status_code == 202, known.text
        assert known.json() == unknown.json()
        assert "reset link" in known.json()["message"]

    def test_a_link_is_emailed(
        self, client: TestClient, factory: Factory, settings: Settings, user: Actor
    ):
        assert ask(client, user.email.upper()).status_code == 202

        token = emailed_token(factory, settings, user.email)

        [message] = mailbox(settings, user.email)
        assert message["subject"] == "Reset your Mercado password"
        assert f"{settings.public_url}/reset-password?token={token}" in message["body"]
        assert f"within {settings.password_reset_minutes} minutes" in message["body"]

    def test_only_a_digest_is_stored_and_the_sent_text_is_forgotten(
        self, client: TestClient, factory: Factory, settings: Settings, user: Actor, db: Session
    ):
        ask(client, user.email)

        token = emailed_token(factory, settings, user.email)

        [row] = db.scalars(select(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.expires_at - row.created_at == timedelta(minutes=settings.password_reset_minutes)
        [sent] = db.scalars(select(OutboundMessage).where(OutboundMessage.user_id == user.id))
        assert sent.sent_at is not None and sent.body == ""
        assert sent.recipient == user.email and sent.kind == "password_reset"

    def test_unknown_address_sends_nothing(
        self, client: TestClient, factory: Factory, settings: Settings, db: Session
    ):
        email = unique_email("nobody")

        ask(client, email)
        factory.settle()

        assert mailbox(settings, email) == []
        assert db.scalar(select(func.count()).where(OutboundMessage.recipient == email)) == 0

    def test_erased_account_gets_nothing(
        self, client: TestClient, factory: Factory, settings: Settings, user: Actor
    ):
        assert client.delete("/me", headers=user.headers).status_code == 204

        assert ask(client, user.email).status_code == 202
        factory.settle()

        assert mailbox(settings, user.email) == []

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({}, id="no email"),
            pytest.param({"email": "not-an-email"}, id="not an email"),
            pytest.param({"email": "a@example.com", "admin": True}, id="unknown field"),
        ],
    )
    def test_validation(self, client: TestClient, body: dict[str, Any]):
        assert_error(client.post("/auth/password-reset", json=body), 422, "validation_error")


class TestConfirm:
    def test_valid(self, client: TestClient, factory: Factory, settings: Settings, user: Actor):
        ask(client, user.email)
        token = emailed_token(factory, settings, user.email)

        response = confirm(client, token)

        assert response.status_code == 204, response.text
        assert login(client, user.email, NEW_PASSWORD) == 200
        assert login(client, user.email, user.password) == 401

    def test_existing_sessions_end(
        self, client: TestClient, factory: Factory, settings: Settings, user: Actor
    ):
        ask(client, user.email)
        token = emailed_token(factory, settings, user.email)
        assert client.get("/me", headers=user.headers).status_code == 200

        assert confirm(client, token).status_code == 204

        assert_error(client.get("/me", headers=user.headers), 401, "unauthorized")

    def test_a_token_works_once(
        self, client: TestClient, factory: Factory, settings: Settings, user: Actor
    ):
        ask(client, user.email)
        token = emailed_token(factory, settings, user.email)
        assert confirm(client, token).status_code == 204

        again = confirm(client, token, OTHER_PASSWORD)

        assert_error(again, 400, "bad_request")
        assert login(client, user.email, NEW_PASSWORD) == 200
        assert login(client, user.email, OTHER_PASSWORD) == 401

    def test_using_one_token_retires_the_others(
        self, client: TestClient, factory: Factory, settings: Settings, user: Actor
    ):
        ask(client, user.email)
        first = emailed_token(factory, settings, user.email)
        ask(client, user.email)
        second = emailed_token(factory, settings, user.email)
        assert first != second

        assert confirm(client, second).status_code == 204

        assert_error(confirm(client, first, OTHER_PASSWORD), 400, "bad_request")

    def test_expired_token(
        self,
        client: TestClient,
        factory: Factory,
        settings: Settings,
        user: Actor,
        frozen: FrozenClock,
    ):
        ask(client, user.email)
        token = emailed_token(factory, settings, user.email)

        frozen.advance(timedelta(minutes=settings.password_reset_minutes, seconds=1))

        assert_error(confirm(client, token), 400, "bad_request")
        assert login(client, user.email, user.password) == 200

    def test_token_just_before_expiry(
        self,
        client: TestClient,
        factory: Factory,
        settings: Settings,
        user: Actor,
        frozen: FrozenClock,
    ):
        ask(client, user.email)
        token = emailed_token(factory, settings, user.email)

        frozen.advance(timedelta(minutes=settings.password_reset_minutes, seconds=-1))

        assert confirm(client, token).status_code == 204

    def test_weak_password_is_refused_and_the_token_kept(
        self, client: TestClient, factory: Factory, settings: Settings, user: Actor
    ):
        ask(client, user.email)
        token = emailed_token(factory, settings, user.email)

        for weak in ("Summer2024!", user.email):
            error = assert_error(confirm(client, token, weak), 422, "validation_error")
            assert error["details"][0]["loc"] == ["body", "new_password"]
            assert error["details"][0]["type"] == "weak_password"

        assert confirm(client, token).status_code == 204

    def test_unknown_token(self, client: TestClient):
        assert_error(confirm(client, "x" * 43), 400, "bad_request")

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"new_password": NEW_PASSWORD}, id="no token"),
            pytest.param({"token": "short", "new_password": NEW_PASSWORD}, id="token too short"),
            pytest.param({"token": "a b" * 10, "new_password": NEW_PASSWORD}, id="token spaces"),
            pytest.param({"token": "x" * 129, "new_password": NEW_PASSWORD}, id="token too long"),
            pytest.param({"token": "x" * 43, "new_password": "short"}, id="password too short"),
            pytest.param({"token": "x" * 43}, id="no password"),
        ],
    )
    def test_validation(self, client: TestClient, body: dict[str, Any]):
        response = client.post("/auth/password-reset/confirm", json=body)

        assert_error(response, 422, "validation_error")


class TestRaces:
    def test_two_confirmations_at_once(
        self, client: TestClient, factory: Factory, settings: Settings, user: Actor
    ):
        ask(client, user.email)
        token = emailed_token(factory, settings, user.email)
        start = threading.Barrier(2)
        outcomes: dict[str, int] = {}

        def send(password: str) -> None:
            start.wait()
            outcomes[password] = confirm(client, token, password).status_code

        threads = [threading.Thread(target=send, args=(p,)) for p in (NEW_PASSWORD, OTHER_PASSWORD)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(outcomes.values()) == [204, 400]
        [winner] = [password for password, status in outcomes.items() if status == 204]
        [loser] = [password for password, status in outcomes.items() if status == 400]
        assert login(client, user.email, winner) == 200
        assert login(client, user.email, loser) == 401

    def test_a_token_used_after_it_was_read(
        self,
        client: TestClient,
        factory: Factory,
        settings: Settings,
        user: Actor,
        monkeypatch: pytest.MonkeyPatch,
    ):
        """The window between reading the token and using it: a confirmation that read it
        as unused while another used it must not set its password."""
        ask(client, user.email)
        token = emailed_token(factory, settings, user.email)
        assert confirm(client, token).status_code == 204

        def as_read_before_it_was_used(
            session: Session, token_hash: str, now: Any
        ) -> Row[Any] | None:
            return session.execute(
                select(User.id, User.email, User.display_name)
                .join(PasswordResetToken, PasswordResetToken.user_id == User.id)
                .where(PasswordResetToken.token_hash == token_hash)
            ).one_or_none()

        monkeypatch.setattr(password_reset, "_holder_of_usable_token", as_read_before_it_was_used)

        assert_error(confirm(client, token, OTHER_PASSWORD), 400, "bad_request")
        assert login(client, user.email, NEW_PASSWORD) == 200
        assert login(client, user.email, OTHER_PASSWORD) == 401


def test_tokens_and_emails_never_reach_the_warehouse():
    """The e-mail outbox holds live reset links until sent, the tokens table digests of
    credentials: neither is shop data for analytics."""
    from orchestration.loads.shop import shop_tables

    assert {"outbound_messages", "password_reset_tokens"}.isdisjoint(shop_tables())
