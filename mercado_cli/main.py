"""``mercado``: the one command-line entry point of the platform."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from mercado_cli.audiences import audiences_app
from mercado_cli.demo_plan import (
    DEMO_DAYS,
    DEMO_SERVE_DAYS,
    DEMO_SHOPPERS,
    DEMO_VISIT_RATE,
    MAX_SERVE_DAYS,
    DemoPlan,
)
from mercado_cli.errors import MercadoGroup
from mercado_cli.importers import import_app
from mercado_cli.pipeline import pipeline_app
from mercado_cli.quality import quality_app
from mercado_cli.recommender import ml_app
from shop_api.core.config import get_settings
from simulator.cli import simulate

app = typer.Typer(
    cls=MercadoGroup,  # a user's mistake is one line and exit code 2 (mercado_cli.errors)
    help="Mercado: marketplace shop API and e-commerce data platform.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Shop database: migrations and seed data.", no_args_is_help=True)
users_app = typer.Typer(help="Operator tasks on accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(import_app, name="import")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(ml_app, name="ml")
app.add_typer(quality_app, name="quality")
app.add_typer(audiences_app, name="audiences")
app.command("simulate")(simulate)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to MERCADO_DATABASE_URL (SQLite under var/ by default)."""
    from shop_api.core.migrations import upgrade_to_head

    settings = get_settings()
    settings.resolved_home.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.sqlalchemy_url)
    typer.echo("database is at the latest migration")


@db_app.command("seed")
def db_seed() -> None:
    """Create the default category tree (idempotent)."""
    from shop_api.catalog.default_tree import DEFAULT_CATEGORY_TREE
    from shop_api.catalog.service import seed_category_tree
    from shop_api.core.clock import SystemClock
    from shop_api.core.db import create_db_engine, create_session_factory

    engine = create_db_engine(get_settings().sqlalchemy_url, pool_size=1)
    with create_session_factory(engine)() as session:
        added = seed_category_tree(session, SystemClock(), DEFAULT_CATEGORY_TREE)
    engine.dispose()
    typer.echo(f"categories added: {added}")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email")],
    role: Annotated[str, typer.Option(help="shopper, seller or staff")] = "staff",
    display_name: Annotated[str, typer.Option(help="Shown name")] = "Operator",
) -> None:
    """Create an account, e.g. the first staff member (the password is prompted for,
    or read from MERCADO_NEW_USER_PASSWORD)."""
    from mercado_cli.accounts import NewAccount
    from shop_api.auth.service import create_user
    from shop_api.core.clock import SystemClock
    from shop_api.core.db import create_db_engine, create_session_factory
    from shop_api.core.security import PasswordHasher

    password = os.environ.get("MERCADO_NEW_USER_PASSWORD") or getpass.getpass("Password: ")
    account = NewAccount(email=email, password=password, display_name=display_name, role=role)
    settings = get_settings()
    engine = create_db_engine(settings.sqlalchemy_url, pool_size=1)
    with create_session_factory(engine)() as session:
        # create_user applies the password policy first (a MercadoError: one line).
        user = create_user(
            session,
            PasswordHasher(settings),
            SystemClock(),
            email=account.email,
            password=account.password,
            display_name=account.display_name,
            role=account.role,
        )
        typer.echo(f"created {user.role.value} {user.email} ({user.id})")
    engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes")] = False,
    migrate: Annotated[bool, typer.Option(help="Apply migrations first")] = True,
) -> None:
    """Run the shop API with uvicorn (OpenAPI docs at /docs); several workers each listen
    on their own socket (``shop_api.serving``)."""
    import uvicorn

    get_settings()  # bad settings are reported here, not by each worker or reloaded child
    if migrate:
        db_upgrade()
        db_seed()
    from shop_api.serving import record_listen_address
    from shop_api.serving import serve as serve_workers

    if not reload:
        raise typer.Exit(serve_workers(host, port, workers=workers))
    record_listen_address(host, port)  # the reloader's server process inherits it
    uvicorn.run(**uvicorn_options(host, port, reload=reload))


def uvicorn_options(host: str, port: int, *, reload: bool) -> dict[str, Any]:
    """``uvicorn.run``'s arguments for the API. ``--reload`` watches the API's code only:
    by default uvicorn watches the working directory, var/ (the database, the lake,
    Dagster's storage) and dbt's and Dagster's state included, and restarted on their writes."""
    options: dict[str, Any] = {
        "app": "shop_api.main:create_app",
        "factory": True,
        "host": host,
        "port": port,
        "reload": reload,
        "access_log": False,
        "proxy_headers": False,  # MERCADO_TRUSTED_PROXIES decides (core.client_address)
    }
    if reload:
        import shop_api

        options["reload_dirs"] = [str(Path(shop_api.__file__).parent)]
    return options


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for the demo API (0 picks a free one)")] = 0,
    shoppers: Annotated[
        int, typer.Option(min=0, help="Simulated shoppers after the story")
    ] = DEMO_SHOPPERS,
    days: Annotated[int, typer.Option(min=1, help="Simulated days, ending yesterday")] = DEMO_DAYS,
    serve_days: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_SERVE_DAYS,
            help="The last simulated days, served by the model trained before (the model is "
            "scored on the other simulated days of the last week)",
        ),
    ] = DEMO_SERVE_DAYS,
    visit_rate: Annotated[
        float, typer.Option(min=0.01, help="Mean sessions per active shopper per day")
    ] = DEMO_VISIT_RATE,
    docs: Annotated[bool, typer.Option(help="Build the dbt docs site at the end")] = True,
) -> None:
    """Run the platform end to end on embedded defaults and print what happened."""
    from mercado_cli.demo import run_demo

    plan = DemoPlan(
        shoppers=shoppers, days=days, serve_days=serve_days, visit_rate=visit_rate, docs=docs
    )
    raise typer.Exit(run_demo(get_settings(), plan, port=port))


if __name__ == "__main__":
    app()
