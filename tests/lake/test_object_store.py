"""The object-store interface, on both implementations: a local folder and S3 (moto)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shop_api.core.storage import (
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    local_files,
    open_object_store,
)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    url = request.getfixturevalue("s3_lake_url")
    return open_object_store(url, endpoint_url=request.getfixturevalue("s3_endpoint"))


def test_settings_choose_the_implementation(tmp_path: Path):
    assert isinstance(open_object_store(tmp_path), LocalObjectStore)
    assert str(open_object_store("s3://bucket/a/b/")) == "s3://bucket/a/b/"


def test_list_shows_complete_objects_under_a_prefix(store: ObjectStore):
    store.put("events/dt=2024-03-01/part-a.jsonl", b"one\n", "application/x-ndjson")
    store.put("events/dt=2024-03-02/part-b.jsonl", b"two\ntwo\n", "application/x-ndjson")
    store.put("events_bad/dt=2024-03-01/part-c.jsonl", b"bad\n", "application/x-ndjson")

    listed = store.list("events/dt=")

    assert [(info.key, info.size) for info in listed] == [
        ("events/dt=2024-03-01/part-a.jsonl", 4),
        ("events/dt=2024-03-02/part-b.jsonl", 8),
    ]
    assert [info.key for info in store.list("events/dt=2024-03-02/")] == [listed[1].key]
    assert store.children("events/") == ["dt=2024-03-01", "dt=2024-03-02"]
    assert store.children("") == ["events", "events_bad"]
    assert store.list("nothing/") == []


def test_hidden_names_are_never_listed(store: ObjectStore, tmp_path: Path):
    store.put("events/dt=2024-03-01/part-a.jsonl", b"one\n", "application/x-ndjson")
    store.put("events/.expired-dt=2024-01-01/part-z.jsonl", b"old\n", "application/x-ndjson")
    if isinstance(store, LocalObjectStore):  # a crashed write's leftover
        (tmp_path / "store" / "events" / "dt=2024-03-01" / ".tmp-x").write_bytes(b"ha")

    assert [info.key for info in store.list("events/")] == ["events/dt=2024-03-01/part-a.jsonl"]
    assert store.children("events/") == ["dt=2024-03-01"]


def test_rewrite_replaces_only_what_the_transform_changes(store: ObjectStore):
    store.put("k/a.jsonl", b"keep\n", "text/plain")
    store.put("k/b.jsonl", b"change\n", "text/plain")
    before = {info.key: info for info in store.list("k/")}

    def transform(data: bytes) -> bytes | None:
        return data.replace(b"change", b"changed") if b"change" in data else None

    assert store.rewrite("k/a.jsonl", transform) is False
    assert store.rewrite("k/b.jsonl", transform) is True
    assert store.get("k/a.jsonl") == b"keep\n"
    assert store.get("k/b.jsonl") == b"changed\n"
    assert {info.key: info for info in store.list("k/")}["k/a.jsonl"] == before["k/a.jsonl"]


def test_a_rewrite_never_loses_a_concurrent_write(s3_lake_url: str, s3_endpoint: str):
    """Another writer replaces the object between the rewrite's read and its write: the
    conditional write fails, and the rewrite starts again from the newer object."""
    store = open_object_store(s3_lake_url, endpoint_url=s3_endpoint)
    store.put("k/a.jsonl", b"v1\n", "text/plain")
    calls: list[bytes] = []

    def transform(data: bytes) -> bytes:
        calls.append(data)
        if len(calls) == 1:
            store.put("k/a.jsonl", b"v2\n", "text/plain")  # the racing writer
        return data.upper()

    assert store.rewrite("k/a.jsonl", transform) is True
    assert calls == [b"v1\n", b"v2\n"]
    assert store.get("k/a.jsonl") == b"V2\n"


def test_a_reader_sees_whole_objects_or_none(store: ObjectStore):
    body = b"".join(b'{"n": %d}\n' % i for i in range(20_000))
    stop = threading.Event()
    sizes: set[int] = set()

    def reader() -> None:
        while not stop.is_set():
            for info in store.list("events/"):
                try:
                    sizes.add(len(store.get(info.key)))
                except ObjectNotFound:
                    continue

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(10):
            store.put(f"events/dt=2024-03-01/part-{round_}.jsonl", body, "text/plain")
            store.put("events/dt=2024-03-01/part-0.jsonl", body, "text/plain")  # replaced
    finally:
        stop.set()
        thread.join()

    assert sizes == {len(body)}


def test_delete_removes_one_object_and_a_missing_one_is_no_error(store: ObjectStore):
    store.put("events/dt=2024-03-01/part-a.jsonl", b"a\n", "text/plain")
    store.put("events/dt=2024-03-01/part-b.jsonl", b"b\n", "text/plain")

    store.delete("events/dt=2024-03-01/part-a.jsonl")
    store.delete("events/dt=2024-03-01/part-a.jsonl")

    assert [info.key for info in store.list("events/")] == ["events/dt=2024-03-01/part-b.jsonl"]
    with pytest.raises(ObjectNotFound):
        store.get("events/dt=2024-03-01/part-a.jsonl")


def test_delete_prefix_removes_a_folder(store: ObjectStore):
    store.put("events/dt=2024-03-01/part-a.jsonl", b"12345", "text/plain")
    store.put("events/dt=2024-03-01/part-b.jsonl", b"678", "text/plain")
    store.put("events/dt=2024-03-02/part-c.jsonl", b"kept", "text/plain")

    assert store.delete_prefix("events/dt=2024-03-01/") == 8
    assert [info.key for info in store.list("events/")] == ["events/dt=2024-03-02/part-c.jsonl"]
    assert store.delete_prefix("events/dt=2024-03-01/") == 0


def test_local_files_opens_every_object_as_a_file(store: ObjectStore):
    keys = ["events/dt=2024-03-01/part-a.jsonl", "events/dt=2024-03-02/part-b.jsonl"]
    for key in keys:
        store.put(key, key.encode(), "text/plain")

    with local_files(store, keys) as paths:
        assert [path.read_text() for path in paths] == keys
        assert all(path.as_posix().endswith(key) for key, path in zip(keys, paths, strict=True))
        copies = paths
    if store.local_path(keys[0]) is None:  # copies of a remote store are temporary
        assert not any(path.exists() for path in copies)
