"""``mercado serve``: what ``--reload`` watches, resolved by uvicorn itself."""

from __future__ import annotations

from pathlib import Path

import uvicorn

import shop_api
from mercado_cli.main import uvicorn_options

REPOSITORY = Path(shop_api.__file__).parent.parent


def watched(options: dict) -> list[Path]:
    return [Path(d).resolve() for d in uvicorn.Config(**options).reload_dirs]


def test_reload_watches_the_api_code_only() -> None:
    dirs = watched(uvicorn_options("127.0.0.1", 8000, reload=True))

    assert dirs == [Path(shop_api.__file__).parent.resolve()]
    # Generated state (make dev's MERCADO_HOME and DAGSTER_HOME, dbt's and Dagster's
    # parse state) is outside every watched folder.
    for generated in ("var", "var/dagster", "dbt_project/target", ".local_defs_state"):
        path = (REPOSITORY / generated).resolve()
        assert not any(path.is_relative_to(d) for d in dirs), generated


def test_without_reload_nothing_is_watched() -> None:
    options = uvicorn_options("127.0.0.1", 8000, reload=False)

    assert "reload_dirs" not in options
    assert uvicorn.Config(**options).should_reload is False
