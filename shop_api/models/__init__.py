"""Typed ORM models; importing this package registers every table on ``Base.metadata``."""

from shop_api.models.catalog import Category, Listing, ListingCondition, ListingImage, ListingStatus
from shop_api.models.questions import Notification, NotificationKind, Question
from shop_api.models.user import ConsentEvent, ErasureRecord, User, UserRole

__all__ = [
    "Category",
    "ConsentEvent",
    "ErasureRecord",
    "Listing",
    "ListingCondition",
    "ListingImage",
    "ListingStatus",
    "Notification",
    "NotificationKind",
    "Question",
    "User",
    "UserRole",
]
