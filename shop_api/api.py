"""The aggregate router: every resource module's router, in the order of the docs."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from shop_api.accounts.endpoints import router as me_router
from shop_api.auth.endpoints import router as auth_router
from shop_api.cart.endpoints import router as cart_router
from shop_api.catalog.endpoints import router as categories_router
from shop_api.listings.endpoints import me_router as my_listings_router
from shop_api.listings.endpoints import router as listings_router
from shop_api.media.endpoints import router as media_router
from shop_api.notifications.endpoints import router as notifications_router
from shop_api.ops.endpoints import router as ops_router
from shop_api.orders.endpoints import router as orders_router
from shop_api.payments.endpoints import router as payments_router
from shop_api.promotions.endpoints import router as promotions_router
from shop_api.providers.sandbox.endpoints import router as sandbox_router
from shop_api.questions.endpoints import router as questions_router
from shop_api.reviews.endpoints import router as reviews_router
from shop_api.shipping.endpoints import router as shipping_router
from shop_api.tracking.endpoints import router as tracking_router
from shop_api.tracking.tagjs import router as tagjs_router

ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    me_router,
    my_listings_router,
    notifications_router,
    categories_router,
    listings_router,
    questions_router,
    reviews_router,
    cart_router,
    orders_router,
    payments_router,
    promotions_router,
    shipping_router,
    tagjs_router,
    media_router,
    tracking_router,
    ops_router,
    sandbox_router,
)


def include_routers(app: FastAPI) -> None:
    """Each router goes straight onto the app: one routing level less on every request."""
    for router in ROUTERS:
        app.include_router(router)
