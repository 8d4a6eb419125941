"""The aggregate router: the order requests are matched in, and the sections of the docs."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from shop_api.api import OPENAPI_TAGS, ROUTERS
from shop_api.main import create_app

# Routers matched ahead of the docs' order (see shop_api.api).
HOT_ROUTERS = 2


def _sample_path(route: APIRoute) -> str:
    """The route's path with a value in place of each parameter."""
    return re.sub(r"\{[^}]+\}", "sample", route.path)


def test_every_docs_section_is_described_once_and_used() -> None:
    used = {route.tags[0] for router in ROUTERS for route in router.routes}
    described = [tag["name"] for tag in OPENAPI_TAGS]

    assert len(described) == len(set(described))
    assert set(described) == used


def test_the_docs_list_their_sections_in_reading_order() -> None:
    schema = create_app().openapi()

    assert [tag["name"] for tag in schema["tags"]] == [tag["name"] for tag in OPENAPI_TAGS]


def test_routers_matched_first_take_no_request_of_another_router() -> None:
    """Moving a router ahead changes nothing when none of its routes matches a path and
    method of a later router's route."""
    first = [route for router in ROUTERS[:HOT_ROUTERS] for route in router.routes]
    later = [route for router in ROUTERS[HOT_ROUTERS:] for route in router.routes]
    assert first and later

    overlaps = [
        (ahead.path, route.path, sorted(route.methods & ahead.methods))
        for ahead in first
        for route in later
        if route.methods & ahead.methods and ahead.path_regex.match(_sample_path(route))
    ]
    assert overlaps == []
