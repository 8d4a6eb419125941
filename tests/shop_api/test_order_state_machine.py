"""The order state machine: which status may follow which, what each move records, how an
order follows its fulfilment groups, and the API refusing moves the machine forbids."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shop_api.core.clock import FrozenClock
from shop_api.core.errors import Conflict
from shop_api.models.orders import (
    FulfilmentGroup,
    FulfilmentStatus,
    Order,
    OrderStatus,
    OrderStatusChange,
)
from shop_api.orders.state import (
    ORDER_TRANSITIONS,
    can_transition,
    follow_groups,
    set_group_status,
    status_from_groups,
    transition,
)
from tests.factories import Actor, Factory, assert_error

S = OrderStatus
F = FulfilmentStatus
MOMENT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# The specification: every move an order may make. Anything else is refused.
ALLOWED: set[tuple[OrderStatus, OrderStatus]] = {
    (S.pending_payment, S.paid),
    (S.pending_payment, S.cancelled),
    (S.paid, S.partially_shipped),
    (S.paid, S.shipped),
    (S.paid, S.cancelled),
    (S.paid, S.refunded),
    (S.partially_shipped, S.shipped),
    (S.partially_shipped, S.refunded),
    (S.shipped, S.delivered),
    (S.shipped, S.refunded),
    (S.delivered, S.refunded),
}
MOVES = [(a, b) for a, b in itertools.product(S, S) if a != b]
ALLOWED_MOVES = [pytest.param(a, b, id=f"{a}->{b}") for a, b in MOVES if (a, b) in ALLOWED]
FORBIDDEN_MOVES = [pytest.param(a, b, id=f"{a}->{b}") for a, b in MOVES if (a, b) not in ALLOWED]


def new_order(status: OrderStatus) -> Order:
    return Order(id=uuid.uuid4(), status=status, paid_at=None, cancelled_at=None)


def new_group(status: FulfilmentStatus, order: Order | None = None) -> FulfilmentGroup:
    return FulfilmentGroup(
        id=uuid.uuid4(),
        order_id=order.id if order else uuid.uuid4(),
        status=status,
        shipped_at=None,
        delivered_at=None,
    )


def recorded(session: Session) -> list[OrderStatusChange]:
    """Status changes added to the session, in the order they were made."""
    return [obj for obj in session.new if isinstance(obj, OrderStatusChange)]


@pytest.fixture
def session() -> Iterator[Session]:
    """A session with no database: the rules only add rows, which is what we inspect."""
    with Session() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MOMENT)


class TestTransitionTable:
    def test_table_is_the_specification(self) -> None:
        table = {(a, b) for a, targets in ORDER_TRANSITIONS.items() for b in targets}

        assert table == ALLOWED
        assert set(ORDER_TRANSITIONS) == set(S)

    @pytest.mark.parametrize("terminal", [S.cancelled, S.refunded])
    def test_terminal_statuses_lead_nowhere(self, terminal: OrderStatus) -> None:
        assert not any(can_transition(terminal, target) for target in S)

    def test_every_status_is_reachable_from_pending_payment(self) -> None:
        reached, frontier = {S.pending_payment}, [S.pending_payment]
        while frontier:
            for target in ORDER_TRANSITIONS[frontier.pop()]:
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)

        assert reached == set(S)


class TestTransition:
    @pytest.mark.parametrize(("current", "target"), ALLOWED_MOVES)
    def test_allowed_move_succeeds_and_is_recorded(
        self, session: Session, clock: FrozenClock, current: OrderStatus, target: OrderStatus
    ) -> None:
        order = new_order(current)

        transition(session, order, target, clock, reason="test")

        assert order.status == target
        assert order.modified_at == MOMENT
        [change] = recorded(session)
        assert change.order_id == order.id
        assert change.group_id is None
        assert (change.from_status, change.to_status) == (current.value, target.value)
        assert change.reason == "test"
        assert change.changed_at == MOMENT

    @pytest.mark.parametrize(("current", "target"), FORBIDDEN_MOVES)
    def test_forbidden_move_is_a_conflict(
        self, session: Session, clock: FrozenClock, current: OrderStatus, target: OrderStatus
    ) -> None:
        order = new_order(current)

        with pytest.raises(Conflict) as raised:
            transition(session, order, target, clock, reason="test")

        assert raised.value.status_code == 409
        assert raised.value.details == {"from": current.value, "to": target.value}
        assert order.status == current
        assert recorded(session) == []

    @pytest.mark.parametrize("status", list(S))
    def test_staying_put_is_a_no_op(
        self, session: Session, clock: FrozenClock, status: OrderStatus
    ) -> None:
        order = new_order(status)

        transition(session, order, status, clock)

        assert order.status == status
        assert recorded(session) == []

    def test_paying_stamps_paid_at(self, session: Session, clock: FrozenClock) -> None:
        order = new_order(S.pending_payment)

        transition(session, order, S.paid, clock)

        assert order.paid_at == MOMENT
        assert order.cancelled_at is None

    def test_cancelling_stamps_cancelled_at(self, session: Session, clock: FrozenClock) -> None:
        order = new_order(S.pending_payment)

        transition(session, order, S.cancelled, clock)

        assert order.cancelled_at == MOMENT
        assert order.paid_at is None


class TestGroupStatus:
    def test_change_is_recorded_against_the_group(
        self, session: Session, clock: FrozenClock
    ) -> None:
        order = new_order(S.paid)
        group = new_group(F.awaiting_shipment, order)

        set_group_status(session, group, F.label_created, clock, "label created")

        assert group.status == F.label_created
        [change] = recorded(session)
        assert (change.order_id, change.group_id) == (order.id, group.id)
        assert (change.from_status, change.to_status) == ("awaiting_shipment", "label_created")

    def test_label_stamps_shipped_at_once(self, session: Session, clock: FrozenClock) -> None:
        group = new_group(F.awaiting_shipment)
        set_group_status(session, group, F.label_created, clock, "label")
        clock.advance(timedelta(hours=1))

        set_group_status(session, group, F.in_transit, clock, "moving")
        set_group_status(session, group, F.delivered, clock, "at the door")

        assert group.shipped_at == MOMENT
        assert group.delivered_at == MOMENT + timedelta(hours=1)

    def test_same_status_records_nothing(self, session: Session, clock: FrozenClock) -> None:
        group = new_group(F.in_transit)

        set_group_status(session, group, F.in_transit, clock, "again")

        assert recorded(session) == []


class TestStatusFromGroups:
    @pytest.mark.parametrize(
        ("groups", "expected"),
        [
            pytest.param([], None, id="no groups"),
            pytest.param([F.cancelled, F.cancelled], None, id="all cancelled"),
            pytest.param([F.awaiting_payment], None, id="unpaid"),
            pytest.param([F.awaiting_shipment, F.awaiting_shipment], None, id="none shipped"),
            pytest.param([F.label_created, F.awaiting_shipment], S.partially_shipped, id="1 of 2"),
            pytest.param([F.delivered, F.awaiting_shipment], S.partially_shipped, id="1 arrived"),
            pytest.param([F.label_created], S.shipped, id="label"),
            pytest.param([F.in_transit, F.out_for_delivery], S.shipped, id="all moving"),
            pytest.param([F.delivered, F.in_transit], S.shipped, id="one still moving"),
            pytest.param([F.exception], S.shipped, id="exception"),
            pytest.param([F.returned, F.delivered], S.shipped, id="one returned"),
            pytest.param([F.delivered, F.delivered], S.delivered, id="all delivered"),
            pytest.param([F.delivered, F.cancelled], S.delivered, id="cancelled ignored"),
        ],
    )  # fmt: skip
    def test_implied_status(self, groups: list[FulfilmentStatus], expected: Any) -> None:
        assert status_from_groups([new_group(status) for status in groups]) == expected


class TestFollowGroups:
    def test_delivery_goes_through_shipped(self, session: Session, clock: FrozenClock) -> None:
        order = new_order(S.paid)
        groups = [new_group(F.delivered, order), new_group(F.delivered, order)]

        follow_groups(session, order, groups, clock, "tracking")

        assert order.status == S.delivered
        assert [(c.from_status, c.to_status) for c in recorded(session)] == [
            ("paid", "shipped"), ("shipped", "delivered"),
        ]  # fmt: skip

    def test_partial_then_whole_shipment(self, session: Session, clock: FrozenClock) -> None:
        order = new_order(S.paid)
        first, second = new_group(F.label_created, order), new_group(F.awaiting_shipment, order)

        follow_groups(session, order, [first, second], clock, "shipped")
        assert order.status == S.partially_shipped
        second.status = F.label_created
        follow_groups(session, order, [first, second], clock, "shipped")

        assert order.status == S.shipped
        assert [c.to_status for c in recorded(session)] == ["partially_shipped", "shipped"]

    def test_nothing_shipped_changes_nothing(self, session: Session, clock: FrozenClock) -> None:
        order = new_order(S.paid)

        follow_groups(session, order, [new_group(F.awaiting_shipment, order)], clock, "x")

        assert order.status == S.paid
        assert recorded(session) == []

    def test_never_moves_backwards(self, session: Session, clock: FrozenClock) -> None:
        order = new_order(S.delivered)
        groups = [new_group(F.delivered, order), new_group(F.awaiting_shipment, order)]

        follow_groups(session, order, groups, clock, "late tracking")

        assert order.status == S.delivered
        assert recorded(session) == []

    @pytest.mark.parametrize("ended", [S.cancelled, S.refunded])
    def test_ended_orders_stay_ended(
        self, session: Session, clock: FrozenClock, ended: OrderStatus
    ) -> None:
        order = new_order(ended)

        follow_groups(session, order, [new_group(F.delivered, order)], clock, "tracking")

        assert order.status == ended
        assert recorded(session) == []


# -- over the API ---------------------------------------------------------------------


def ship(client: TestClient, seller: Actor, order_id: str) -> str:
    response = client.post(f"/orders/{order_id}/ship", headers=seller.headers)
    assert response.status_code == 201, response.text
    return response.json()["tracking_number"]


def advance_to_the_end(client: TestClient, factory: Factory, tracking_number: str) -> None:
    url = f"/sandbox/carrier/v1/shipments/{tracking_number}/advance"
    while (response := client.post(url)).status_code == 200:
        factory.settle()
    assert_error(response, 409, "finished")


def cancel(client: TestClient, actor: Actor, order_id: str) -> Any:
    return client.post(f"/orders/{order_id}/cancel", headers=actor.headers)


def order_status(client: TestClient, actor: Actor, order_id: str) -> str:
    return client.get(f"/orders/{order_id}", headers=actor.headers).json()["status"]


class TestForbiddenOverTheApi:
    @pytest.fixture
    def listing(self, factory: Factory, seller: Actor) -> dict[str, Any]:
        return factory.listing(seller, stock=5)

    def test_cancel_a_shipped_order(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor, listing: dict
    ) -> None:
        order = factory.paid_order(shopper, [listing])
        ship(client, seller, order["id"])

        error = assert_error(cancel(client, shopper, order["id"]), 409, "conflict")

        assert error["details"] == {"from": "shipped", "to": "cancelled"}
        assert order_status(client, shopper, order["id"]) == "shipped"
        assert client.get(f"/listings/{listing['id']}").json()["stock"] == 4

    def test_cancel_a_partially_shipped_order(
        self, client: TestClient, factory: Factory, seller: Actor, other_seller: Actor,
        shopper: Actor, listing: dict,
    ) -> None:  # fmt: skip
        other = factory.listing(other_seller)
        order = factory.paid_order(shopper, [listing, other])
        ship(client, seller, order["id"])

        error = assert_error(cancel(client, shopper, order["id"]), 409, "conflict")

        assert error["details"] == {"from": "partially_shipped", "to": "cancelled"}

    def test_cancel_a_delivered_order(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor, listing: dict
    ) -> None:
        order = factory.paid_order(shopper, [listing])
        advance_to_the_end(client, factory, ship(client, seller, order["id"]))
        assert order_status(client, shopper, order["id"]) == "delivered"

        error = assert_error(cancel(client, shopper, order["id"]), 409, "conflict")

        assert error["details"] == {"from": "delivered", "to": "cancelled"}

    def test_cancel_twice(
        self, client: TestClient, factory: Factory, shopper: Actor, listing: dict
    ) -> None:
        order = factory.order(shopper, [listing])
        assert cancel(client, shopper, order["id"]).status_code == 200

        assert_error(cancel(client, shopper, order["id"]), 409, "conflict")
        assert client.get(f"/listings/{listing['id']}").json()["stock"] == 5  # released once

    def test_ship_an_unpaid_order(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor, listing: dict
    ) -> None:
        order = factory.order(shopper, [listing])

        response = client.post(f"/orders/{order['id']}/ship", headers=seller.headers)

        assert_error(response, 409, "conflict")
        assert order_status(client, shopper, order["id"]) == "pending_payment"

    def test_ship_a_cancelled_order(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor, listing: dict
    ) -> None:
        order = factory.paid_order(shopper, [listing])
        assert cancel(client, shopper, order["id"]).status_code == 200

        response = client.post(f"/orders/{order['id']}/ship", headers=seller.headers)

        assert_error(response, 409, "conflict")

    def test_pay_a_cancelled_order(
        self, client: TestClient, factory: Factory, shopper: Actor, listing: dict
    ) -> None:
        order = factory.order(shopper, [listing])
        assert cancel(client, shopper, order["id"]).status_code == 200

        response = client.post(f"/orders/{order['id']}/payments", headers=shopper.headers)

        assert_error(response, 409, "conflict")
        assert client.get(f"/orders/{order['id']}/payments", headers=shopper.headers).json() == []

    def test_pay_a_paid_order(
        self, client: TestClient, factory: Factory, shopper: Actor, listing: dict
    ) -> None:
        order = factory.paid_order(shopper, [listing])

        response = client.post(f"/orders/{order['id']}/payments", headers=shopper.headers)

        assert_error(response, 409, "conflict")

    def test_refund_an_unpaid_order(
        self, client: TestClient, factory: Factory, shopper: Actor, staff: Actor, listing: dict
    ) -> None:
        order = factory.order(shopper, [listing])

        response = client.post(f"/orders/{order['id']}/refunds", json={}, headers=staff.headers)

        assert_error(response, 409, "conflict")

    def test_history_records_the_whole_life(
        self, client: TestClient, factory: Factory, seller: Actor, shopper: Actor, listing: dict
    ) -> None:
        order = factory.paid_order(shopper, [listing])
        advance_to_the_end(client, factory, ship(client, seller, order["id"]))

        history = client.get(f"/orders/{order['id']}/history", headers=shopper.headers).json()

        order_moves = [(c["from_status"], c["to_status"]) for c in history if not c["group_id"]]
        assert order_moves == [
            (None, "pending_payment"), ("pending_payment", "paid"), ("paid", "shipped"),
            ("shipped", "delivered"),
        ]  # fmt: skip
        group_moves = [c["to_status"] for c in history if c["group_id"]]
        assert group_moves == [
            "awaiting_shipment", "label_created", "in_transit", "out_for_delivery", "delivered",
        ]  # fmt: skip
        assert all(move in ALLOWED for move in [(S(a), S(b)) for a, b in order_moves[1:]])
