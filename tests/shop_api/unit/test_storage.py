"""The local object store: atomic writes, and keys that cannot escape its folder."""

from __future__ import annotations

import pytest

from shop_api.core.storage import LocalObjectStore, ObjectNotFound


@pytest.fixture
def store(tmp_path):
    return LocalObjectStore(tmp_path / "media", "http://shop.example")


def test_put_then_get_round_trips(store):
    store.put("listings/a/b.png", b"bytes", "image/png")

    assert store.get("listings/a/b.png") == b"bytes"
    assert store.url("listings/a/b.png") == "http://shop.example/media/listings/a/b.png"


def test_writes_leave_no_temporary_files(store, tmp_path):
    store.put("listings/a/b.png", b"first", "image/png")
    store.put("listings/a/b.png", b"second", "image/png")

    files = [p.name for p in (tmp_path / "media" / "listings" / "a").iterdir()]
    assert files == ["b.png"]
    assert store.get("listings/a/b.png") == b"second"


def test_delete_is_idempotent(store):
    store.put("k.png", b"x", "image/png")
    store.delete("k.png")
    store.delete("k.png")

    with pytest.raises(ObjectNotFound):
        store.get("k.png")


@pytest.mark.parametrize("key", ["../secret", "/etc/passwd", "a/../../b", "", "a//b", "./a"])
def test_keys_outside_the_store_are_refused(store, key):
    with pytest.raises(ObjectNotFound):
        store.get(key)
