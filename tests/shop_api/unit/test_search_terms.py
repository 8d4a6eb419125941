"""Shoppers' queries become plain words: engine operators can never be injected."""

from __future__ import annotations

from shop_api.search.backends import MAX_QUERY_TERMS, query_terms


def test_words_are_lowercased_and_punctuation_dropped():
    assert query_terms('Red "Shoes"* OR NEAR(size: 42) -leather') == [
        "red", "shoes", "near", "size", "42", "leather",
    ]  # fmt: skip


def test_stop_words_are_dropped_as_postgresql_does():
    assert query_terms("a case for the phone") == ["case", "phone"]


def test_accented_words_are_kept_whole():
    assert query_terms("câmera fotográfica") == ["câmera", "fotográfica"]


def test_long_queries_are_capped():
    assert len(query_terms(" ".join(f"w{i}" for i in range(50)))) == MAX_QUERY_TERMS
