"""Typed ORM models; importing this package registers every table on ``Base.metadata``."""

from shop_api.models.cart import Cart, CartItem
from shop_api.models.catalog import Category, Listing, ListingCondition, ListingImage, ListingStatus
from shop_api.models.messages import OutboundMessage
from shop_api.models.orders import (
    FulfilmentGroup,
    FulfilmentStatus,
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
)
from shop_api.models.outbox import OutboxEvent
from shop_api.models.payments import (
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    Refund,
    RefundStatus,
    WebhookReceipt,
)
from shop_api.models.promotions import Coupon, CouponKind, CouponRedemption
from shop_api.models.questions import Notification, NotificationKind, Question
from shop_api.models.reviews import Review
from shop_api.models.shipping import Shipment, ShipmentEvent, ShipmentStatus
from shop_api.models.throttle import LoginThrottleCounter
from shop_api.models.user import (
    ConsentEvent,
    ErasureRecord,
    PasswordResetToken,
    User,
    UserRole,
)
from shop_api.providers.sandbox import models as _sandbox_models  # noqa: F401  (their tables)

__all__ = [
    "Cart",
    "CartItem",
    "Category",
    "ConsentEvent",
    "Coupon",
    "CouponKind",
    "CouponRedemption",
    "ErasureRecord",
    "FulfilmentGroup",
    "FulfilmentStatus",
    "Listing",
    "ListingCondition",
    "ListingImage",
    "ListingStatus",
    "LoginThrottleCounter",
    "Notification",
    "NotificationKind",
    "Order",
    "OrderItem",
    "OrderStatus",
    "OrderStatusChange",
    "OutboundMessage",
    "OutboxEvent",
    "PasswordResetToken",
    "Payment",
    "PaymentStatus",
    "PaymentStatusChange",
    "Question",
    "Refund",
    "RefundStatus",
    "Review",
    "Shipment",
    "ShipmentEvent",
    "ShipmentStatus",
    "User",
    "UserRole",
    "WebhookReceipt",
]
