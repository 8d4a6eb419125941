from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from shop_api.catalog import service
from shop_api.catalog.schemas import CategoryCreate, CategoryList, CategoryPublic
from shop_api.core.deps import ClockDep, CurrentStaff, SessionDep
from shop_api.core.errors import error_responses
from shop_api.core.validation import Text
from shop_api.models import Category

router = APIRouter(prefix="/categories", tags=["categories"])


@router.get("", response_model=CategoryList)
def list_categories(session: SessionDep) -> CategoryList:
    """The whole tree, depth-first by path; build the hierarchy from ``parent_id``."""
    categories = session.scalars(select(Category).order_by(Category.path)).all()
    return CategoryList(
        data=[CategoryPublic.model_validate(c) for c in categories], count=len(categories)
    )


@router.get("/{slug_or_id}", response_model=CategoryPublic, responses=error_responses(404))
def read_category(slug_or_id: Text, session: SessionDep) -> CategoryPublic:
    return CategoryPublic.model_validate(service.get_category(session, slug_or_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CategoryPublic,
    responses=error_responses(401, 403, 404, 409, 413, 422),
)
def create_category(
    body: CategoryCreate, _staff: CurrentStaff, session: SessionDep, clock: ClockDep
) -> CategoryPublic:
    parent = service.get_category(session, body.parent) if body.parent else None
    category = service.create_category(
        session, clock, slug=body.slug, name=body.name, parent=parent
    )
    session.commit()
    return CategoryPublic.model_validate(category)
