"""How ``mercado`` reports a user's mistake: one line on stderr and exit code 2.

Mistakes are wrong options (Click's usage errors), settings or command input that do not
validate (pydantic, every problem at once), the shop refusing something (a
``MercadoError``, e.g. a taken email) and a database URL or database that cannot be used.
The line names what is wrong and quotes no setting's value; the values of secret settings
are blanked out of it in case a driver's message repeats them. Anything else is a bug and
keeps its traceback.

It all happens in ``MercadoGroup.main``, the top-level command's entry point, which both
the console script and Typer's test runner call.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from typer._click.exceptions import NoArgsIsHelpError  # Typer vendors Click; not re-exported
from typer.core import TyperGroup

from shop_api.core.errors import MercadoError

USER_ERROR_EXIT_CODE = 2
SECRET_SETTING_WORDS = ("SECRET", "PASSWORD", "KEY", "TOKEN")


class MercadoGroup(TyperGroup):
    """The ``mercado`` command: Click runs without its standalone error handling (whose
    usage errors take a framed box of lines) and user errors are reported here."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        except typer.TyperException as exc:  # Click's usage errors and the like
            fail(usage_message(exc), exc.exit_code)
        except (ValidationError, MercadoError, ArgumentError, OperationalError) as exc:
            fail(describe(exc), USER_ERROR_EXIT_CODE)
        # Without standalone mode Click returns a command's exit code (typer.Exit) or its
        # return value (None for these commands).
        sys.exit(result if isinstance(result, int) else 0)


def fail(message: str, exit_code: int) -> NoReturn:
    typer.echo(f"error: {redact(' '.join(message.split()))}", err=True)
    sys.exit(exit_code)


def usage_message(exc: typer.TyperException) -> str:
    """Click's message, prefixed with the command and followed by where help is."""
    context = getattr(exc, "ctx", None)
    if context is None:
        return exc.format_message()
    return (
        f"{context.command_path}: {exc.format_message()} "
        f"(see '{context.command_path} {context.help_option_names[0]}')"
    )


def describe(exc: Exception) -> str:
    """The one-line account of a user error that is not a usage error."""
    if isinstance(exc, ValidationError):
        return validation_message(exc)
    if isinstance(exc, MercadoError):
        return exc.message
    if isinstance(exc, ArgumentError):
        return "MERCADO_DATABASE_URL is not a database URL (sqlite:///... or postgresql://...)"
    if isinstance(exc, OperationalError):
        reason = str(exc.orig or exc).strip().splitlines()[0]
        return f"cannot use the database {configured_database()}: {reason}"
    return str(exc)


def validation_message(exc: ValidationError) -> str:
    """Every problem, by environment variable for settings and by field for input."""
    settings = exc.title.endswith("Settings")
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        reason = str(cause) if isinstance(cause, Exception) else error["msg"]
        location = error["loc"]
        if not location:
            problems.append(reason)
        elif settings:
            problems.append(f"MERCADO_{str(location[0]).upper()}: {reason}")
        else:
            problems.append(f"{'.'.join(map(str, location))}: {reason}")
    kind = "settings" if settings else "input"
    return f"invalid {kind}: " + "; ".join(problems)


def configured_database() -> str:
    """The configured database URL with its password hidden."""
    from shop_api.core.config import get_settings

    try:
        url = get_settings().sqlalchemy_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a broken setting is reported on its own
        return "(MERCADO_DATABASE_URL)"


def redact(line: str) -> str:
    """``line`` without the value of any secret setting or the database password."""
    secrets = [
        value
        for name, value in os.environ.items()
        if name.startswith("MERCADO_") and any(word in name for word in SECRET_SETTING_WORDS)
    ]
    try:
        secrets.append(make_url(os.environ.get("MERCADO_DATABASE_URL", "")).password or "")
    except ArgumentError:
        secrets.append(os.environ.get("MERCADO_DATABASE_URL", ""))
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            line = line.replace(secret, "***")
    return line
