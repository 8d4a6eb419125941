"""Application factory: wires settings, database, clock, storage and routers together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from ml.serving import ModelStore
from shop_api.api import OPENAPI_TAGS, include_routers
from shop_api.core.clock import Clock, SystemClock
from shop_api.core.config import Settings, get_settings
from shop_api.core.cors import add_cors
from shop_api.core.errors import register_exception_handlers
from shop_api.core.gc_tuning import long_lived_heap
from shop_api.core.limits import BodySizeLimitMiddleware
from shop_api.core.logging import RequestContextMiddleware, configure_logging
from shop_api.core.security import PasswordHasher
from shop_api.core.security_headers import SecurityHeadersMiddleware
from shop_api.core.storage import LocalObjectStore, ObjectStore
from shop_api.core.unit_of_work import Database
from shop_api.jobs import BackgroundJobs
from shop_api.notifications.mailer import MailboxDirectory
from shop_api.ops.docs import install_docs
from shop_api.providers.registry import install_providers
from shop_api.recommendations import erasure as _recommender_erasure  # noqa: F401  (its step)
from shop_api.recommendations.service import ShopPopularity
from shop_api.tracking import erasure as _clickstream_erasure  # noqa: F401  (registers its step)
from shop_api.tracking.service import Tracking

DESCRIPTION = """
The Mercado marketplace: accounts, catalog, search, questions and notifications.

Authenticate with `POST /auth/token` (OAuth2 password flow) and send
`Authorization: Bearer <token>`. Errors are always
`{"error": {"code", "message", "details"}}`.
"""


def generate_operation_id(route: APIRoute) -> str:
    """Stable, readable operation ids (``listings-search_listings``) for generated clients."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    object_store: ObjectStore | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    database = Database(settings.sqlalchemy_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Here, not with the app: asyncio connections belong to the running loop.
        await database.open()
        app.state.tracking.start()
        # The published model starts loading now, off the request path, not at the first
        # request for recommendations (which would be answered by popularity meanwhile).
        app.state.recommender.served()
        jobs = None
        if settings.background_jobs:
            jobs = BackgroundJobs(app.state, settings.background_interval_seconds)
            jobs.start()
        with long_lived_heap(settings.gc_young_threshold):
            yield
        if jobs is not None:
            jobs.stop()
        app.state.tracking.stop()  # flushes queued events to the lake
        login_counters = getattr(app.state, "login_redis_counters", None)
        if login_counters is not None:  # the login throttle's Redis connections
            await login_counters.close()
        await database.close()
        database.dispose()

    app = FastAPI(
        title="Mercado shop API",
        version="0.1.0",
        description=DESCRIPTION,
        generate_unique_id_function=generate_operation_id,
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,  # served from this server's copy of the assets (install_docs)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock or SystemClock()
    app.state.password_hasher = PasswordHasher(settings)
    app.state.tracking = Tracking(settings, app.state.clock)
    app.state.object_store = object_store or LocalObjectStore(
        settings.media_dir, settings.public_url
    )

    app.state.recommender = ModelStore(
        settings.recommender_dir, check_seconds=settings.recs_reload_seconds
    )
    app.state.recs_popularity = ShopPopularity(
        settings.recs_popularity_days, settings.recs_popularity_cache_seconds
    )
    install_providers(app.state, settings)
    app.state.mailer = MailboxDirectory(settings.mailbox_dir)
    register_exception_handlers(app)
    include_routers(app)
    install_docs(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_image_bytes + 256 * 1024)
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log)
    app.add_middleware(SecurityHeadersMiddleware)  # keeps a policy a page sets itself (docs)
    add_cors(app, settings.cors_origins)  # last: the outermost middleware
    return app
