"""Dependencies giving endpoints the configured providers and the follow-up runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from shop_api.orders.lifecycle import FollowUp
from shop_api.payments.service import run_follow_ups
from shop_api.providers.payments import PaymentProvider
from shop_api.providers.shipping import CarrierProvider


async def get_payment_provider(request: Request) -> PaymentProvider:
    return request.app.state.payment_provider


async def get_carrier(request: Request) -> CarrierProvider:
    return request.app.state.carrier


async def get_follow_up_runner(request: Request) -> Callable[[list[FollowUp]], None]:
    state = request.app.state

    def run(follow_ups: list[FollowUp]) -> None:
        run_follow_ups(state.database.sessions, state.payment_provider, state.clock, follow_ups)

    return run


PaymentProviderDep = Annotated[PaymentProvider, Depends(get_payment_provider)]
CarrierDep = Annotated[CarrierProvider, Depends(get_carrier)]
FollowUpRunnerDep = Annotated[Callable[[list[FollowUp]], None], Depends(get_follow_up_runner)]
