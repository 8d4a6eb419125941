"""The one normaliser of customer identifiers for ad platforms (Google Customer Match rules).

Emails are trimmed and lowercased, and the dots of a gmail.com or googlemail.com local
part are removed; phones are written in E.164 (``+`` then country code and number).
Both are then SHA-256 hashed to lowercase hex. The warehouse's ``email_sha256`` and every
audience file use these functions, so a customer hashes the same everywhere.
"""

from __future__ import annotations

import hashlib

import phonenumbers

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalise_email(email: str | None) -> str | None:
    """The address as Customer Match hashes it, or None when it is not an address."""
    if email is None:
        return None
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(ch.isspace() for ch in address):
        return None
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def normalise_phone(phone: str | None, default_region: str | None = None) -> str | None:
    """The number in E.164, or None when it is not a valid number.

    A number without a leading ``+`` is read in ``default_region`` (ISO 3166 alpha-2).
    """
    if phone is None or not phone.strip():
        return None
    try:
        number = phonenumbers.parse(phone, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hashed_email(email: str | None) -> str | None:
    normalised = normalise_email(email)
    return sha256_hex(normalised) if normalised is not None else None


def hashed_phone(phone: str | None, default_region: str | None = None) -> str | None:
    normalised = normalise_phone(phone, default_region)
    return sha256_hex(normalised) if normalised is not None else None
