"""Audience definitions: ``audiences/definitions/<name>.yml``, validated on load.

A definition says who is in (``sql`` over the marts and profiles returning
``customer_id``, a profiles ``segment``, or a ``lookalike`` of a seed), how often it is
refreshed (cron), which identifiers go to the ad platform, how long a membership lasts
there (at most 540 days, Customer Match's limit) and the sizes that are plausible. A
file with ``parameters`` is one definition per value (``{category}`` in the name, text
and SQL replaced), so a marketer gets one audience per category. ``prepare`` names
tables the rule reads that are computed once per refresh and shared by every audience
that names the same table with the same SQL (a parametrised file's aggregation, run once
rather than once per value).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
# Customer Match keeps a member for at most 540 days after the last upload naming them.
MAX_MEMBERSHIP_TTL_DAYS = 540
NAME_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"
PREPARED_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")

IdentifierType = Literal["email", "phone"]


class DefinitionError(ValueError):
    """A definition file that cannot be used; the message names the file and every problem."""


class Lookalike(BaseModel):
    """The ``size`` customers nearest the seed in the profiles' embedding space."""

    model_config = ConfigDict(extra="forbid")

    seed_audience: str | None = Field(default=None, pattern=NAME_PATTERN)
    seed_sql: str | None = None
    size: Annotated[int, Field(gt=0)]

    @model_validator(mode="after")
    def one_seed(self) -> Self:
        if (self.seed_audience is None) == (self.seed_sql is None):
            raise ValueError("a lookalike needs exactly one of seed_audience or seed_sql")
        return self


class SizeBounds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: Annotated[int, Field(ge=0)] = 0
    max: Annotated[int | None, Field(gt=0)] = None

    @model_validator(mode="after")
    def ordered(self) -> Self:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"size_bounds: max ({self.max}) is below min ({self.min})")
        return self


class AudienceDefinition(BaseModel):
    """One audience: who is in, and how it is published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(min_length=10)
    owner: str = Field(min_length=1)
    sql: str | None = None
    prepare: dict[str, str] = Field(
        default_factory=dict,
        description="Tables the sql rule reads, by name: computed once per refresh, shared.",
    )
    segment: str | None = None
    lookalike: Lookalike | None = None
    refresh_cron: str = "0 3 * * *"
    identifier_types: list[IdentifierType] = Field(default=["email"], min_length=1)
    membership_ttl_days: Annotated[int, Field(ge=1, le=MAX_MEMBERSHIP_TTL_DAYS)] = (
        MAX_MEMBERSHIP_TTL_DAYS
    )
    size_bounds: SizeBounds = SizeBounds()
    reads: list[str] = Field(
        default_factory=list,
        description="Warehouse tables the rule reads (schema.table), for lineage.",
    )

    @field_validator("refresh_cron")
    @classmethod
    def five_field_cron(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5 or not all(CRON_FIELD.match(f) for f in fields):
            raise ValueError(f"{value!r} is not a five-field cron expression (e.g. '0 3 * * *')")
        return value

    @field_validator("identifier_types")
    @classmethod
    def distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("identifier_types repeats a type")
        return value

    @field_validator("reads")
    @classmethod
    def qualified(cls, value: list[str]) -> list[str]:
        for table in value:
            if not re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", table):
                raise ValueError(f"reads: {table!r} is not schema.table")
        return value

    @field_validator("prepare")
    @classmethod
    def prepared_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not PREPARED_NAME.match(name):
                raise ValueError(f"prepare: {name!r} is not a table name (a-z, 0-9, _)")
        return value

    @model_validator(mode="after")
    def one_rule(self) -> Self:
        rules = [k for k in ("sql", "segment", "lookalike") if getattr(self, k) is not None]
        if len(rules) != 1:
            found = ", ".join(rules) or "none"
            raise ValueError(f"exactly one of sql, segment or lookalike is needed (found: {found})")
        if self.prepare and self.sql is None:
            raise ValueError("prepare is only read by an sql rule")
        return self

    @property
    def rule_kind(self) -> str:
        return "sql" if self.sql else "segment" if self.segment else "lookalike"

    @property
    def republish_every_days(self) -> int:
        """A version is published at least this often, even with no change: halfway
        through the membership's life on the platform, so nobody expires from it."""
        return max(1, self.membership_ttl_days // 2)

    @property
    def definition_hash(self) -> str:
        """SHA-256 of the definition's content (not its file's layout)."""
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()


def _substitute(value: Any, params: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in params.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    return value


def _expand(stem: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """A file's definitions: itself, or one per value of its single parameter."""
    parameters = raw.pop("parameters", None)
    if parameters is None:
        return [{"name": stem, **raw}]
    if not isinstance(parameters, dict) or len(parameters) != 1:
        raise ValueError("parameters must map one name to a list of values")
    [(key, values)] = parameters.items()
    if not isinstance(values, list) or not values:
        raise ValueError(f"parameters.{key} must be a non-empty list")
    expanded = []
    for value in values:
        text = str(value)
        slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
        expanded.append(
            {"name": f"{stem}_{slug}", **_substitute(raw, {key: text, f"{key}_slug": slug})}
        )
    return expanded


def _problems(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "definition"
        lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def load_file(path: Path) -> list[AudienceDefinition]:
    """The definitions in one YAML file; ``DefinitionError`` lists every problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise DefinitionError(f"{path.name}: expected a mapping of fields")
    try:
        return [AudienceDefinition.model_validate(d) for d in _expand(path.stem, raw)]
    except ValidationError as exc:
        raise DefinitionError(
            f"{path.name}: invalid audience definition\n{_problems(exc)}"
        ) from exc
    except ValueError as exc:
        raise DefinitionError(f"{path.name}: {exc}") from exc


def load_definitions(directory: Path = DEFINITIONS_DIR) -> dict[str, AudienceDefinition]:
    """Every definition under ``directory``, by name; seeds must name a known audience."""
    definitions: dict[str, AudienceDefinition] = {}
    for path in sorted(directory.glob("*.yml")):
        for definition in load_file(path):
            if definition.name in definitions:
                raise DefinitionError(f"{path.name}: audience {definition.name!r} defined twice")
            definitions[definition.name] = definition
    for definition in definitions.values():
        seed = definition.lookalike.seed_audience if definition.lookalike else None
        if seed is not None and seed not in definitions:
            raise DefinitionError(f"{definition.name}: seed_audience {seed!r} is not defined")
    return definitions
