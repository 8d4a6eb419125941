"""Category tree rules: unique slugs, materialised paths, idempotent seeding."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from shop_api.catalog.default_tree import CategoryTree
from shop_api.core.clock import Clock
from shop_api.core.errors import Conflict, NotFound
from shop_api.models import Category

MAX_DEPTH = 6


def category_reference(slug_or_id: str) -> tuple[str | None, uuid.UUID | None]:
    """(slug, id) of a category named by either: a value that reads as a UUID is an id."""
    try:
        return None, uuid.UUID(slug_or_id)
    except ValueError:
        return slug_or_id, None


def find_category(session: Session, slug_or_id: str) -> Category | None:
    slug, category_id = category_reference(slug_or_id)
    if category_id is None:
        return session.scalar(select(Category).where(Category.slug == slug))
    return session.get(Category, category_id)


def get_category(session: Session, slug_or_id: str) -> Category:
    category = find_category(session, slug_or_id)
    if category is None:
        raise NotFound(f"Category {slug_or_id!r} not found")
    return category


def subtree_ids(category: Category) -> Select[uuid.UUID]:
    """A scalar subquery of the category and all its descendants."""
    return select(Category.id).where(
        or_(Category.path == category.path, Category.path.startswith(category.path + "/"))
    )


def create_category(
    session: Session, clock: Clock, *, slug: str, name: str, parent: Category | None
) -> Category:
    if session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        raise Conflict(f"Category slug {slug!r} already exists")
    depth = 0 if parent is None else parent.depth + 1
    if depth >= MAX_DEPTH:
        raise Conflict(f"Categories nest at most {MAX_DEPTH} levels deep")
    now = clock.now()
    category = Category(
        slug=slug,
        name=name,
        parent_id=parent.id if parent else None,
        path=slug if parent is None else f"{parent.path}/{slug}",
        depth=depth,
        created_at=now,
        modified_at=now,
    )
    session.add(category)
    session.flush()
    return category


def seed_category_tree(session: Session, clock: Clock, tree: CategoryTree) -> int:
    """Create the categories of ``tree`` that do not exist yet; returns how many were added."""
    existing = set(session.scalars(select(Category.slug)))
    added = 0

    def walk(nodes: CategoryTree, parent: Category | None) -> None:
        nonlocal added
        for slug, (name, children) in nodes.items():
            if slug in existing:
                node = session.scalar(select(Category).where(Category.slug == slug))
            else:
                node = create_category(session, clock, slug=slug, name=name, parent=parent)
                added += 1
            walk(children, node)

    walk(tree, None)
    session.commit()
    return added


def all_categories(session: Session) -> list[Category]:
    """The whole tree, depth-first by path."""
    return list(session.scalars(select(Category).order_by(Category.path)))


def add_category(
    session: Session, clock: Clock, *, slug: str, name: str, parent: str | None
) -> Category:
    """``create_category`` under the parent given by slug or id, committed."""
    category = create_category(
        session, clock, slug=slug, name=name,
        parent=get_category(session, parent) if parent else None,
    )  # fmt: skip
    session.commit()
    return category
