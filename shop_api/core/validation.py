"""Field types for what clients send: amounts of money, currencies and text.

Every schema and query parameter that takes one of these uses the type from here, so the
rule is the same everywhere and the same on both databases:

* ``MinorUnits``: an amount in minor units (cents). A JSON integer only (``"100"``,
  ``true`` and ``100.0`` are refused, where pydantic would otherwise coerce them), at most
  64 bits, the widest integer either database stores. Fields narrow it with ``Field``.
* ``MinorUnitsFilter``: the same range for query parameters, which arrive as text.
* ``CurrencyCode``: an ISO 4217 currency that has minor units (not gold, test or fund
  codes such as ``XAU``, ``XTS``), from the ``iso4217`` package's copy of the standard.
* ``Text``: a string without NUL characters, which PostgreSQL cannot store and SQLite
  can. A field with a ``pattern`` of its own replaces this one's, so such a pattern must
  leave NUL out itself (slugs and codes do: they list the characters they allow).
"""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from iso4217 import Currency
from pydantic import AfterValidator, Field, Strict, StringConstraints, WithJsonSchema

INT64_MAX = 2**63 - 1

MinorUnits = Annotated[
    int, Strict(), Field(ge=0, le=INT64_MAX, description="Amount in minor units (cents)")
]
MinorUnitsFilter = Annotated[int, Field(ge=0, le=INT64_MAX, description="Minor units")]

CURRENCIES: frozenset[str] = frozenset(
    currency.code for currency in Currency if currency.exponent is not None
)


def _iso_4217(code: str) -> str:
    if code not in CURRENCIES:
        raise ValueError("not an ISO 4217 currency code")
    return code


CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_iso_4217),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES), "description": "ISO 4217 code"}),
]

NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]


def _e164(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("not a phone number in international form (+ and country code)") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^\+[0-9 ().-]+$"
    ),
    AfterValidator(_e164),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 32,
            "examples": ["+5511912345678"],
            "description": "International form (+ and country code); stored in E.164",
        }
    ),
]
