"""Validation outcomes in one shape, whichever engine produced them (GE or SQL)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from expectations.severity import CHECK, ERROR


@dataclass
class Outcome:
    """One expectation's result: what was expected, whether it held, counts, a sample."""

    suite: str
    check: str
    description: str
    severity: str
    success: bool
    expectation: str = ""
    element_count: int | None = None
    unexpected_count: int | None = None
    observed: Any = None
    sample: list[Any] = field(default_factory=list)
    note: str = ""

    @property
    def blocking_failure(self) -> bool:
        return not self.success and self.severity == ERROR

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _plain(value: Any) -> Any:
    """numpy scalars and containers as plain JSON-able Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def from_ge(suite_name: str, validation: Any) -> list[Outcome]:
    """Outcomes of a GE ``ExpectationSuiteValidationResult``."""
    outcomes = []
    for result in validation.results:
        config = result.expectation_config
        details = result.result or {}
        error = (result.exception_info or {}).get("exception_message")
        outcomes.append(
            Outcome(
                suite=suite_name,
                check=(config.meta or {}).get(CHECK, config.type),
                description=config.description or config.type,
                severity=str(getattr(config.severity, "value", config.severity) or ERROR),
                success=bool(result.success),
                expectation=config.type,
                element_count=_plain(details.get("element_count")),
                unexpected_count=_plain(details.get("unexpected_count")),
                observed=_plain(details.get("observed_value")),
                sample=_plain(details.get("partial_unexpected_list") or [])[:5],
                note=str(error or ""),
            )
        )
    return outcomes
