from __future__ import annotations

from fastapi import APIRouter, status

from shop_api.catalog import service
from shop_api.catalog.schemas import CategoryCreate, CategoryList, CategoryPublic
from shop_api.core.deps import ClockDep, CurrentStaff, ReadsDep, WritesDep
from shop_api.core.errors import error_responses
from shop_api.core.validation import Text

router = APIRouter(prefix="/categories", tags=["categories"])


@router.get("", response_model=CategoryList)
async def list_categories(reads: ReadsDep) -> CategoryList:
    """The whole tree, depth-first by path; build the hierarchy from ``parent_id``."""
    categories = await reads.run(service.all_categories)
    return CategoryList(
        data=[CategoryPublic.model_validate(c) for c in categories], count=len(categories)
    )


@router.get("/{slug_or_id}", response_model=CategoryPublic, responses=error_responses(404))
async def read_category(slug_or_id: Text, reads: ReadsDep) -> CategoryPublic:
    return CategoryPublic.model_validate(await reads.run(service.get_category, slug_or_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
async def create_category(
    body: CategoryCreate, _staff: CurrentStaff, writes: WritesDep, clock: ClockDep
) -> CategoryPublic:
    category = await writes.run(
        service.add_category, clock, slug=body.slug, name=body.name, parent=body.parent
    )
    return CategoryPublic.model_validate(category)
