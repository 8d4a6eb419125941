"""What a gateway's event must agree with before the shop applies it.

A signed event is the gateway's word, but only about the payment the shop opened: its
amount and currency must be the ones the shop recorded for that intent (and the order
it names, if it names one, that payment's order), and a refund's amount and payment the
ones the shop asked for. Anything else (a bug or a compromise at
the gateway, an event meant for another shop on the same account) is refused and
logged by the receiving path (``EventMismatch``, 409); the order is not touched.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop_api.models.payments import Payment, Refund
from shop_api.providers.payments import ProviderEvent
from shop_api.providers.receiving import EventMismatch


def check_against_records(session: Session, event: ProviderEvent) -> None:
    """Raise ``EventMismatch`` if the event contradicts the recorded payment or refund.
    An event about something not recorded yet passes: the service asks for redelivery."""
    if event.payment is not None:
        remote = event.payment
        recorded = session.execute(
            select(Payment.amount_minor, Payment.currency, Payment.order_id).where(
                Payment.provider_payment_id == remote.id
            )
        ).first()
        if recorded is not None:
            if (remote.amount_minor, remote.currency) != (
                recorded.amount_minor,
                recorded.currency.upper(),
            ):
                raise EventMismatch(
                    f"The event is for {remote.amount_minor} {remote.currency}; payment "
                    f"{remote.id} is for {recorded.amount_minor} {recorded.currency}"
                )
            reference = event.metadata.get("reference")
            if reference is not None and reference != str(recorded.order_id):
                raise EventMismatch(f"The event names another order than payment {remote.id}'s")
    if event.refund is not None:
        refund = event.refund
        recorded_refund = session.execute(
            select(Refund.amount_minor, Payment.provider_payment_id)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.provider_refund_id == refund.id)
        ).first()
        if recorded_refund is not None and (refund.amount_minor, refund.payment_id) != (
            recorded_refund.amount_minor,
            recorded_refund.provider_payment_id,
        ):
            raise EventMismatch(
                f"The event refunds {refund.amount_minor} of payment {refund.payment_id}; "
                f"refund {refund.id} is for {recorded_refund.amount_minor} of payment "
                f"{recorded_refund.provider_payment_id}"
            )
