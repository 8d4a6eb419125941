"""Identifiers are normalised and hashed exactly as Google Customer Match requires."""

from __future__ import annotations

import pytest

from audiences.identifiers import (
    hashed_email,
    hashed_phone,
    normalise_email,
    normalise_phone,
    sha256_hex,
)


def test_sha256_matches_the_published_vectors() -> None:
    # FIPS 180-2 test vector, and the hashed example of TikTok's customer-file guide.
    assert sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert (
        hashed_email("janedoe@gmail.com")
        == "d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69"
    )


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("Jane.Doe@gmail.com", "janedoe@gmail.com"),
        ("j.a.n.e+ads@GoogleMail.com", "jane+ads@googlemail.com"),
        ("jane.doe@gmail.com.au", "jane.doe@gmail.com.au"),
    ],
)
def test_emails_are_trimmed_lowercased_and_gmail_dots_removed(raw: str, normalised: str) -> None:
    assert normalise_email(raw) == normalised


def test_gmail_spellings_of_one_address_hash_alike() -> None:
    assert hashed_email("Jane.Doe@gmail.com") == hashed_email(" janedoe@GMAIL.com")
    assert hashed_email("jane.doe@example.com") != hashed_email("janedoe@example.com")


@pytest.mark.parametrize("raw", [None, "", "not-an-address", "@example.com", "jane@", "a b@x.io"])
def test_what_is_not_an_address_has_no_hash(raw: str | None) -> None:
    assert normalise_email(raw) is None
    assert hashed_email(raw) is None


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 (657) 777-0000", None, "+16577770000"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("+44 20 7946 0018", "FR", "+442079460018"),
        ("030 901820", "DE", "+4930901820"),
    ],
)
def test_phones_are_written_in_e164(raw: str, region: str | None, e164: str) -> None:
    assert normalise_phone(raw, region) == e164


def test_phone_hash_is_of_the_e164_form() -> None:
    assert hashed_phone("+1 657-777-0000") == (
        "a6e82c2f4091baff57a4f33d01efb65bfbeacbbfbcfaa9d0ff9f57d28d78fedb"
    )


@pytest.mark.parametrize(
    ("raw", "region"), [(None, None), ("", "GB"), ("12", "GB"), ("07946", None)]
)
def test_what_is_not_a_number_has_no_hash(raw: str | None, region: str | None) -> None:
    assert normalise_phone(raw, region) is None
    assert hashed_phone(raw, region) is None
