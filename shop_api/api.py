"""The aggregate router: every resource module's router, and the order of the docs."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from shop_api.accounts.endpoints import router as me_router
from shop_api.accounts.password_reset_endpoints import router as password_reset_router
from shop_api.auth.endpoints import router as auth_router
from shop_api.cart.endpoints import router as cart_router
from shop_api.catalog.endpoints import router as categories_router
from shop_api.listings.endpoints import me_router as my_listings_router
from shop_api.listings.endpoints import router as listings_router
from shop_api.marketing.endpoints import router as marketing_router
from shop_api.media.endpoints import router as media_router
from shop_api.notifications.endpoints import router as notifications_router
from shop_api.ops.endpoints import router as ops_router
from shop_api.orders.endpoints import router as orders_router
from shop_api.payments.endpoints import router as payments_router
from shop_api.promotions.endpoints import router as promotions_router
from shop_api.providers.sandbox.endpoints import router as sandbox_router
from shop_api.questions.endpoints import router as questions_router
from shop_api.recommendations.endpoints import router as recommendations_router
from shop_api.reviews.endpoints import router as reviews_router
from shop_api.shipping.endpoints import router as shipping_router
from shop_api.tracking.endpoints import router as tracking_router
from shop_api.tracking.tagjs import router as tagjs_router

# The order in which requests are matched. FastAPI tries a router's every route before the
# next router's, 2-3 µs each: the catalog (search and listing pages, most of the traffic),
# the clickstream collector and the recommendation lists shown beside them go first.
# None of their paths overlaps another router's.
# The docs keep their own order (OPENAPI_TAGS).
ROUTERS: tuple[APIRouter, ...] = (
    listings_router,
    tracking_router,
    recommendations_router,
    auth_router,
    password_reset_router,
    me_router,
    my_listings_router,
    notifications_router,
    categories_router,
    questions_router,
    reviews_router,
    cart_router,
    orders_router,
    payments_router,
    promotions_router,
    shipping_router,
    marketing_router,
    tagjs_router,
    media_router,
    ops_router,
    sandbox_router,
)

# The sections of the API docs, in reading order (a shopper's path through the shop).
OPENAPI_TAGS: list[dict[str, str]] = [
    {"name": "auth", "description": "Sign up, sign in for an OAuth2 token, reset a password."},
    {"name": "me", "description": "The caller's account, consents, erasure and own listings."},
    {"name": "notifications", "description": "The caller's notifications, read and unread."},
    {"name": "categories", "description": "The category tree."},
    {"name": "listings", "description": "Search, listing pages, and sellers' listings."},
    {
        "name": "recommendations",
        "description": "Listings for you, similar listings and listings bought together, "
        "each list naming the model version that served it.",
    },
    {"name": "questions", "description": "Questions on listings and sellers' answers."},
    {"name": "reviews", "description": "Reviews of ordered listings and sellers' ratings."},
    {"name": "cart", "description": "The shopper's cart."},
    {"name": "orders", "description": "Checkout, orders and sellers' sales."},
    {"name": "payments", "description": "Payments, refunds and the payment provider's webhooks."},
    {"name": "promotions", "description": "Coupons."},
    {"name": "shipping", "description": "Shipping, parcel tracking and the carrier's webhooks."},
    {"name": "marketing", "description": "Published audiences for staff (hashed, versioned)."},
    {"name": "media", "description": "Stored images."},
    {"name": "tracking", "description": "Clickstream collection and the tag script."},
    {"name": "ops", "description": "Health and readiness probes."},
    {"name": "sandbox", "description": "The built-in sandbox payment gateway and carrier."},
]


def include_routers(app: FastAPI) -> None:
    """Each router goes straight onto the app: one routing level less on every request."""
    for router in ROUTERS:
        app.include_router(router)
