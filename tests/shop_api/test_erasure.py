"""The right to erasure (``DELETE /me``): the person disappears, the shop's records stay whole."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shop_api.accounts import erasure
from shop_api.core.clock import SystemClock
from shop_api.models import (
    ConsentEvent,
    ErasureRecord,
    Listing,
    ListingStatus,
    Notification,
    Question,
    User,
)
from tests.factories import Actor, Factory


def erase(client: TestClient, actor: Actor) -> None:
    response = client.delete("/me", headers=actor.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""


@dataclass
class ErasedShopper:
    """A shopper with a phone who consented to both ad purposes, asked a question that was
    answered, then left."""

    person: Actor
    display_name: str
    question_text: str
    seller: Actor
    listing_id: str
    question_id: str
    questions_before: int


@pytest.fixture
def erased_shopper(client: TestClient, factory: Factory) -> ErasedShopper:
    person = factory.user(ad_consent=True, phone="+5511912345678")
    display_name = f"Ana {uuid.uuid4().hex[:8]}"
    renamed = client.patch("/me", json={"display_name": display_name}, headers=person.headers)
    assert renamed.status_code == 200, renamed.text
    seller = factory.user("seller")
    listing = factory.listing(seller)
    factory.question(factory.user(), listing["id"], "Is the shutter accurate?")
    question_text = f"Could you ship it to Calle Falsa {uuid.uuid4().hex[:8]}, Springfield?"
    question = factory.question(person, listing["id"], question_text)
    answered = client.post(
        f"/questions/{question['id']}/answer", json={"body": "Yes."}, headers=seller.headers
    )
    assert answered.status_code == 200, answered.text
    before = client.get(f"/listings/{listing['id']}/questions").json()["count"]

    erase(client, person)

    return ErasedShopper(
        person, display_name, question_text, seller, listing["id"], question["id"], before
    )


class TestAccess:
    def test_anonymous(self, client: TestClient):
        response = client.delete("/me")

        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"

    def test_token_is_refused_afterwards(self, client: TestClient, erased_shopper: ErasedShopper):
        headers = erased_shopper.person.headers

        for method, url in [("GET", "/me"), ("GET", "/me/consents"), ("DELETE", "/me")]:
            response = client.request(method, url, headers=headers)
            assert response.status_code == 401, f"{method} {url}: {response.text}"

    def test_old_credentials_no_longer_log_in(
        self, client: TestClient, erased_shopper: ErasedShopper
    ):
        person = erased_shopper.person

        response = client.post(
            "/auth/token", data={"username": person.email, "password": person.password}
        )

        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"

    def test_email_can_sign_up_again(self, client: TestClient, erased_shopper: ErasedShopper):
        email = erased_shopper.person.email

        response = client.post(
            "/auth/signup",
            json={"email": email, "password": "a brand new password", "display_name": "Ana"},
        )

        assert response.status_code == 201, response.text
        assert response.json()["id"] != str(erased_shopper.person.id)
        login = client.post(
            "/auth/token", data={"username": email, "password": "a brand new password"}
        )
        assert login.status_code == 200, login.text


class TestPersonalData:
    def test_account_row_holds_nothing_of_the_person(
        self, erased_shopper: ErasedShopper, db: Session
    ):
        person = erased_shopper.person

        user = db.get(User, person.id)

        assert user is not None, "the row stays so orders and questions keep their reference"
        assert person.email not in user.email
        assert person.email.split("@")[0] not in user.email
        assert user.display_name == erasure.ERASED_DISPLAY_NAME
        assert erased_shopper.display_name not in user.display_name
        assert user.password_hash is None
        assert user.is_active is False
        assert user.last_login_at is None
        assert user.erased_at is not None

    def test_no_other_row_has_the_email(self, erased_shopper: ErasedShopper, db: Session):
        email = erased_shopper.person.email

        assert db.scalar(select(func.count()).where(func.lower(User.email) == email)) == 0

    def test_both_ad_consents_are_withdrawn_by_erasure(
        self, erased_shopper: ErasedShopper, db: Session
    ):
        user = db.get(User, erased_shopper.person.id)
        history = db.execute(
            select(ConsentEvent.purpose, ConsentEvent.granted, ConsentEvent.source)
            .where(ConsentEvent.user_id == erased_shopper.person.id)
            .order_by(ConsentEvent.recorded_at)
        ).all()

        assert user is not None
        assert user.ad_user_data_consent is False
        assert user.ad_personalization_consent is False
        assert user.ad_user_data_consent_source == "erasure"
        assert user.ad_personalization_consent_source == "erasure"
        assert sorted(tuple(row) for row in history) == sorted(
            [
                ("ad_user_data", True, "signup"),
                ("ad_personalization", True, "signup"),
                ("ad_user_data", False, "erasure"),
                ("ad_personalization", False, "erasure"),
            ]
        )
        assert [row.source for row in history][-2:] == ["erasure", "erasure"]

    def test_phone_is_cleared(self, erased_shopper: ErasedShopper, db: Session):
        user = db.get(User, erased_shopper.person.id)

        assert user is not None
        assert user.phone is None

    def test_questions_are_redacted_but_kept(
        self, client: TestClient, erased_shopper: ErasedShopper, db: Session
    ):
        question = db.get(Question, uuid.UUID(erased_shopper.question_id))

        assert question is not None
        assert question.body == erasure.REDACTED_TEXT
        assert question.answer == "Yes.", "the seller's answer stays useful to other shoppers"
        page = client.get(f"/listings/{erased_shopper.listing_id}/questions").json()
        assert page["count"] == erased_shopper.questions_before
        bodies = [q["body"] for q in page["data"]]
        assert erasure.REDACTED_TEXT in bodies
        assert "Is the shutter accurate?" in bodies, "other people's questions are untouched"
        assert erased_shopper.question_text not in bodies

    def test_notifications_are_deleted(self, erased_shopper: ErasedShopper, db: Session):
        count = db.scalar(
            select(func.count()).where(Notification.user_id == erased_shopper.person.id)
        )

        assert count == 0

    def test_sellers_notifications_no_longer_quote_the_question(
        self, client: TestClient, erased_shopper: ErasedShopper
    ):
        seller = erased_shopper.seller

        response = client.get(
            "/me/notifications", params={"page_size": 100}, headers=seller.headers
        )

        assert response.status_code == 200, response.text
        about_question = [
            n
            for n in response.json()["data"]
            if n["data"].get("question_id") == erased_shopper.question_id
        ]
        assert len(about_question) == 1, "the seller keeps the notification itself"
        assert erased_shopper.question_text not in about_question[0]["message"]
        assert erasure.REDACTED_TEXT in about_question[0]["message"]

    def test_erasure_record_lists_every_step(self, erased_shopper: ErasedShopper, db: Session):
        records = db.scalars(
            select(ErasureRecord).where(ErasureRecord.user_id == erased_shopper.person.id)
        ).all()

        assert len(records) == 1
        [record] = records
        assert list(record.steps) == erasure.registered_steps()
        assert record.completed_at is not None
        assert record.requested_at <= record.completed_at
        assert record.steps["consent"] == {
            "withdrawn": True,
            "purposes_withdrawn": ["ad_user_data", "ad_personalization"],
        }
        assert record.steps["questions"] == {"questions_redacted": 1, "notifications_redacted": 1}
        assert record.steps["notifications"]["notifications_deleted"] == 1
        assert erased_shopper.person.email not in str(record.steps)


class TestErasedSeller:
    def test_published_listings_are_paused(self, client: TestClient, factory: Factory, db: Session):
        seller = factory.user("seller")
        active = factory.listing(seller, title="Erased active")["id"]
        sold_out = factory.listing(seller, title="Erased sold out")["id"]
        emptied = client.patch(f"/listings/{sold_out}", json={"stock": 0}, headers=seller.headers)
        assert emptied.json()["status"] == "sold_out", emptied.text
        draft = factory.listing(seller, title="Erased draft", status="draft")["id"]
        other = factory.listing(factory.user("seller"), title="Someone else's")["id"]

        erase(client, seller)

        statuses = dict(
            db.execute(
                select(Listing.id, Listing.status).where(
                    Listing.id.in_([uuid.UUID(i) for i in (active, sold_out, draft, other)])
                )
            ).all()
        )
        assert statuses == {
            uuid.UUID(active): ListingStatus.paused,
            uuid.UUID(sold_out): ListingStatus.paused,
            uuid.UUID(draft): ListingStatus.draft,
            uuid.UUID(other): ListingStatus.active,
        }
        assert client.get(f"/listings/{active}").status_code == 404
        staff = factory.user("staff")
        assert client.get(f"/listings/{active}", headers=staff.headers).status_code == 200
        record = db.scalar(select(ErasureRecord).where(ErasureRecord.user_id == seller.id))
        assert record is not None
        assert record.steps["listings"] == {"listings_paused": 2}

    def test_received_questions_stay_answerable_by_nobody_else(
        self, client: TestClient, factory: Factory, db: Session
    ):
        """Questions to an erased seller stay on the (paused) listing; its notifications go."""
        seller = factory.user("seller")
        listing = factory.listing(seller)["id"]
        question = factory.question(factory.user(), listing)["id"]

        erase(client, seller)

        assert db.get(Question, uuid.UUID(question)) is not None
        count = db.scalar(select(func.count()).where(Notification.user_id == seller.id))
        assert count == 0


class TestStepRegistry:
    def test_registering_a_step_twice_raises(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(erasure, "_STEPS", list(erasure._STEPS))  # keep the real one clean

        def step(_ctx: erasure.ErasureContext) -> dict[str, Any]:
            return {}

        erasure.erasure_step("test_store")(step)

        with pytest.raises(ValueError, match="already registered"):
            erasure.erasure_step("test_store")(step)
        assert erasure.registered_steps().count("test_store") == 1

    def test_a_built_in_name_cannot_be_taken(self):
        before = erasure.registered_steps()

        with pytest.raises(ValueError, match="already registered"):
            erasure.erasure_step("account")(lambda _ctx: {})

        assert erasure.registered_steps() == before

    def test_built_in_steps(self):
        assert erasure.registered_steps()[:5] == [
            "consent",
            "account",
            "questions",
            "notifications",
            "listings",
        ]

    def test_a_registered_step_runs_and_is_recorded(
        self, monkeypatch: pytest.MonkeyPatch, factory: Factory, db: Session
    ):
        monkeypatch.setattr(erasure, "_STEPS", list(erasure._STEPS))
        seen: list[uuid.UUID] = []

        @erasure.erasure_step("test_lake")
        def forget_in_lake(ctx: erasure.ErasureContext) -> dict[str, Any]:
            seen.append(ctx.user.id)
            return {"files_rewritten": 3}

        person = factory.user()
        user = db.get(User, person.id)
        assert user is not None

        record = erasure.erase_user(db, user, SystemClock())

        assert seen == [person.id]
        assert record.steps["test_lake"] == {"files_rewritten": 3}
        assert list(record.steps)[-1] == "test_lake"
        stored = db.scalar(select(ErasureRecord.steps).where(ErasureRecord.id == record.id))
        assert stored["test_lake"] == {"files_rewritten": 3}


def test_nothing_else_mentions_the_person(erased_shopper: ErasedShopper, db: Session):
    """No question or notification text still carries the erased person's words or name."""
    words = erased_shopper.question_text
    person_text = or_(
        Question.body.contains(words), Question.body.contains(erased_shopper.display_name)
    )
    notification_text = or_(
        Notification.message.contains(words),
        Notification.message.contains(erased_shopper.display_name),
    )

    assert db.scalar(select(func.count()).where(person_text)) == 0
    assert db.scalar(select(func.count()).where(notification_text)) == 0
