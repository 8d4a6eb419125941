from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Response

from shop_api.core.deps import ObjectStoreDep
from shop_api.core.errors import NotFound, error_responses
from shop_api.core.storage import ObjectNotFound

router = APIRouter(prefix="/media", tags=["media"])


@router.get(
    "/{key:path}",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}}, **error_responses(404)},
)
def read_media(key: str, store: ObjectStoreDep) -> Response:
    """Serve an object from the local store (an S3 store hands out its own URLs instead)."""
    try:
        data = store.get(key)
    except ObjectNotFound:
        raise NotFound("Object not found") from None
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return Response(
        data,
        media_type=content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
