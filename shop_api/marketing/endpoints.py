"""Staff-only: the published audiences marketers pull, read from their files alone.

File reads are blocking: the endpoints are plain functions, run in the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse

from shop_api.core.deps import SettingsDep, require_role
from shop_api.core.errors import error_responses
from shop_api.core.etags import etag_matches
from shop_api.core.pagination import Paged, PageDep
from shop_api.marketing.files import NAME, VERSION, PublishedAudiences, PublishedVersion
from shop_api.marketing.schemas import (
    AudienceList,
    AudienceSummary,
    AudienceVersionPage,
    AudienceVersionPublic,
)
from shop_api.models import UserRole

router = APIRouter(
    prefix="/marketing",
    tags=["marketing"],
    dependencies=[Depends(require_role(UserRole.staff))],
    responses=error_responses(401, 403),
)

AudienceName = Annotated[
    str, Path(pattern=NAME.pattern, max_length=100, description="Audience name (a-z, 0-9, _)")
]
# Audiences hold personal data (hashed): never kept by a shared cache, revalidated by staff.
CACHE_CONTROL = "private, no-cache"


async def published(settings: SettingsDep) -> PublishedAudiences:  # no file read here
    return PublishedAudiences(settings.published_audiences_dir)


PublishedDep = Annotated[PublishedAudiences, Depends(published)]


def version_public(found: PublishedVersion, latest: str | None) -> AudienceVersionPublic:
    return AudienceVersionPublic.model_validate(
        found.manifest | {"audience": found.audience, "version": found.version,
                          "is_latest": found.version == latest}
    )  # fmt: skip


@router.get("/audiences", response_model=AudienceList)
def list_audiences(audiences: PublishedDep) -> AudienceList:
    """Every audience with its released version (the one ``LATEST`` names)."""
    summaries = []
    for name in audiences.names():
        latest = audiences.latest_version(name)
        found = audiences.released(name)
        summaries.append(
            AudienceSummary(
                name=name,
                latest_version=latest,
                latest=version_public(found, latest) if found else None,
            )
        )
    return AudienceList(data=summaries, count=len(summaries))


@router.get(
    "/audiences/{name}/versions",
    response_model=AudienceVersionPage,
    responses=error_responses(404, 422),
)
def list_versions(
    name: AudienceName, page: PageDep, audiences: PublishedDep
) -> AudienceVersionPage:
    """Every version folder with its manifest, newest first, blocked ones included."""
    versions = audiences.versions(name)
    latest = audiences.latest_version(name)
    shown = versions[page.offset : page.offset + page.page_size]
    return Paged(shown, len(versions), page.page, page.page_size).envelope(
        AudienceVersionPage, lambda found: version_public(found, latest)
    )


@router.get(
    "/audiences/{name}/members.csv",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "Customer Match CSV (Email,Phone)"},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **error_responses(404, 422),
    },
)
def members_csv(
    name: AudienceName,
    request: Request,
    audiences: PublishedDep,
    version: Annotated[
        str | None,
        Query(pattern=VERSION.pattern, description="A version; default: the one LATEST names"),
    ] = None,
) -> Response:
    """The members file of the released version (or of ``version``, whatever its
    status), streamed; ``ETag`` is strong and ``If-None-Match`` answers 304."""
    found = audiences.version(name, version)
    headers = {
        "ETag": found.etag,
        "Cache-Control": CACHE_CONTROL,
        "X-Audience-Version": found.version,
        "X-Audience-Status": str(found.manifest.get("status", "")),
    }
    if etag_matches(request.headers.get("if-none-match"), (found.etag,)):
        return Response(status_code=304, headers=headers)
    return FileResponse(
        found.members, media_type="text/csv; charset=utf-8", headers=headers,
        filename=f"{name}-{found.version}-members.csv",
    )  # fmt: skip
