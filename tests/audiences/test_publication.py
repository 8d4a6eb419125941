"""Publishing audiences: consent at publish time, deltas, the size-drop block and its
approval, the TTL re-upload, erasure through every file, and the folder layout."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from audiences import memberships, publication
from audiences.consent import ConsentSnapshot
from audiences.definition import load_definitions
from audiences.identifiers import hashed_email, hashed_phone
from audiences.publication import (
    BLOCKED,
    PUBLISHED,
    UNCHANGED,
    PublicationError,
    approve,
    read_latest,
    read_manifest,
    versions,
)
from audiences.refresh import Refresh, refresh_audience, refresh_run
from orchestration.retention import RetentionReport, expire_versions
from tests.audiences import warehouse as wh

LAPSED = load_definitions()["lapsed_buyers"]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    wh.build(connection)
    yield connection
    connection.close()


def lapsed(conn: duckdb.DuckDBPyConnection, **kwargs: object) -> str:
    return wh.customer(conn, orders_paid=1, last_order_days_ago=300, **kwargs)  # type: ignore[arg-type]


def consenting(
    conn: duckdb.DuckDBPyConnection,
    *,
    withdrawn: set[str] = frozenset(),
    erased: set[str] = frozenset(),
) -> ConsentSnapshot:
    """The shop's view: everyone the warehouse knows consents, except ``withdrawn``."""
    ids = {
        r[0]
        for r in conn.execute(
            "select customer_id from marts.dim_customers where has_marketing_consent"
        ).fetchall()
    }
    return ConsentSnapshot(frozenset(ids - withdrawn - erased), frozenset(erased))


def run(conn: duckdb.DuckDBPyConnection, root: Path, at: datetime, **consent: set[str]) -> Refresh:
    return refresh_audience(conn, root, LAPSED, consenting(conn, **consent), now=at)


def rows(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text().splitlines()]


def email_of(customer_id: str) -> str:
    return hashed_email(f"{customer_id}@example.com") or ""


def every_file_text(root: Path) -> str:
    return "".join(p.read_text() for p in root.rglob("*") if p.is_file())


def test_first_publication_layout_and_manifest(conn, tmp_path) -> None:
    with_phone = lapsed(conn, phone="+44 7911 123456")
    email_only = lapsed(conn)
    lapsed(conn, consent=False)
    result = run(conn, tmp_path, T0).publication
    folder = tmp_path / "lapsed_buyers"
    assert result.status == PUBLISHED and result.version == "20260301T090000Z"
    assert read_latest(folder) == "20260301T090000Z"
    assert sorted(os.listdir(folder / result.version)) == [
        "adds.csv", "manifest.json", "members.csv", "removes.csv",
    ]  # fmt: skip
    members = rows(folder / result.version / "members.csv")
    assert members[0] == ["Email", "Phone"]
    assert sorted(members[1:]) == sorted(
        [[email_of(with_phone), hashed_phone("+447911123456")], [email_of(email_only), ""]]
    )
    assert rows(folder / result.version / "adds.csv") == members
    assert rows(folder / result.version / "removes.csv") == [["Email", "Phone"]]
    manifest = read_manifest(folder, result.version)
    assert manifest["status"] == "published" and manifest["previous_version"] is None
    assert manifest["counts"] == {"members": 2, "adds": 2, "removes": 0}
    assert manifest["definition_hash"] == LAPSED.definition_hash
    assert manifest["identifier_types"] == ["email", "phone"]
    assert manifest["members_sha256"] == publication.file_sha256(
        folder / result.version / "members.csv"
    )
    assert {"audience", "created_at", "description", "owner", "source_data_versions",
            "approved_by", "approved_at"} <= set(manifest)  # fmt: skip
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left


def test_consent_withdrawn_after_a_publication_is_a_remove(conn, tmp_path) -> None:
    stays, withdraws = lapsed(conn), lapsed(conn)
    run(conn, tmp_path, T0)
    # the shop has the withdrawal; the warehouse, loaded earlier, still says consent
    second = run(conn, tmp_path, T0 + timedelta(hours=1), withdrawn={withdraws}).publication
    folder = tmp_path / "lapsed_buyers" / str(second.version)
    assert rows(folder / "members.csv")[1:] == [[email_of(stays), ""]]
    assert rows(folder / "removes.csv")[1:] == [[email_of(withdraws), ""]]
    assert rows(folder / "adds.csv")[1:] == []
    assert second.counts == {"members": 1, "adds": 0, "removes": 1}


def test_deltas_between_two_versions(conn, tmp_path) -> None:
    kept, leaves = lapsed(conn), lapsed(conn)
    changes_email = lapsed(conn)
    first = run(conn, tmp_path, T0).publication
    joins = lapsed(conn)
    conn.execute(
        "update marts.dim_customers set orders_paid = 5, last_order_at = now() "
        "where customer_id = ?",
        [leaves],
    )
    new_hash = hashed_email("renamed@example.com")
    conn.execute(
        "update marts.dim_customers set email_sha256 = ? where customer_id = ?",
        [new_hash, changes_email],
    )
    second = run(conn, tmp_path, T0 + timedelta(days=1)).publication
    folder = tmp_path / "lapsed_buyers" / str(second.version)
    assert sorted(r[0] for r in rows(folder / "adds.csv")[1:]) == sorted(
        [email_of(joins), new_hash]
    )
    assert sorted(r[0] for r in rows(folder / "removes.csv")[1:]) == sorted(
        [email_of(leaves), email_of(changes_email)]
    )
    assert sorted(r[0] for r in rows(folder / "members.csv")[1:]) == sorted(
        [email_of(kept), new_hash, email_of(joins)]
    )
    assert read_manifest(folder.parent, str(second.version))["previous_version"] == first.version


def test_unchanged_members_are_re_uploaded_before_the_membership_expires(conn, tmp_path) -> None:
    lapsed(conn)
    first = run(conn, tmp_path, T0).publication
    every = LAPSED.republish_every_days
    assert every == 270  # half of the 540-day membership life
    quiet = run(conn, tmp_path, T0 + timedelta(days=every - 1)).publication
    assert quiet.status == UNCHANGED and quiet.version is None
    assert versions(tmp_path / "lapsed_buyers") == [first.version]
    due = run(conn, tmp_path, T0 + timedelta(days=every)).publication
    assert due.status == PUBLISHED and due.counts == {"members": 1, "adds": 0, "removes": 0}
    assert "re-published before the 540-day expiry" in due.reason
    assert read_latest(tmp_path / "lapsed_buyers") == due.version


def test_a_drop_of_more_than_half_blocks_until_approved(conn, tmp_path) -> None:
    ids = [lapsed(conn) for _ in range(5)]
    first = run(conn, tmp_path, T0).publication
    folder = tmp_path / "lapsed_buyers"
    # 3 of 5 withdraw: 2 left, fewer than half of 5
    blocked = run(conn, tmp_path, T0 + timedelta(hours=1), withdrawn=set(ids[:3])).publication
    assert blocked.status == BLOCKED and "fell from 5 to 2" in blocked.reason
    assert read_latest(folder) == first.version  # marketers still pull the last release
    assert read_manifest(folder, str(blocked.version))["status"] == "blocked"
    with pytest.raises(PublicationError, match="is published, not blocked"):
        approve(folder, "ana", version=first.version)
    manifest = approve(folder, "ana", now=T0 + timedelta(hours=2))
    assert manifest["status"] == "approved" and manifest["approved_by"] == "ana"
    assert manifest["approved_at"] == "2026-03-01T11:00:00+00:00"
    assert read_latest(folder) == blocked.version
    assert read_manifest(folder, str(blocked.version))["approved_by"] == "ana"
    # the next refresh compares with the approved release: no change
    after = run(conn, tmp_path, T0 + timedelta(hours=3), withdrawn=set(ids[:3])).publication
    assert after.status == UNCHANGED
    with pytest.raises(PublicationError, match="no blocked version"):
        approve(folder, "ana")


def test_a_blocked_version_superseded_by_a_release_cannot_be_approved(conn, tmp_path) -> None:
    ids = [lapsed(conn) for _ in range(4)]
    run(conn, tmp_path, T0)
    blocked = run(conn, tmp_path, T0 + timedelta(hours=1), withdrawn=set(ids[:3])).publication
    lapsed(conn)  # the drop goes away: the next refresh publishes normally
    released = run(conn, tmp_path, T0 + timedelta(hours=2)).publication
    assert released.status == PUBLISHED
    with pytest.raises(PublicationError, match="has been released since"):
        approve(tmp_path / "lapsed_buyers", "ana", version=blocked.version)


def test_an_erased_customer_leaves_every_file_of_every_version(conn, tmp_path) -> None:
    erased = lapsed(conn, phone="+14155550123")
    other = lapsed(conn)
    run(conn, tmp_path, T0)
    # a withdrawal puts the customer in v2's removes.csv, a comeback in v3's adds.csv
    run(conn, tmp_path, T0 + timedelta(hours=1), withdrawn={erased})
    run(conn, tmp_path, T0 + timedelta(hours=2))
    folder = tmp_path / "lapsed_buyers"
    hashes = [email_of(erased), hashed_phone("+14155550123")]
    assert all(h in every_file_text(folder) for h in hashes)
    mtimes = {v: (folder / v / "manifest.json").stat().st_mtime for v in versions(folder)}
    # the erasure reaches the warehouse: the row keeps its id, no PII, is_erased
    conn.execute(
        "update marts.dim_customers set is_erased = true, email = null, email_sha256 = null, "
        "phone_sha256 = null, has_marketing_consent = false, has_ad_user_data_consent = false, "
        "has_ad_personalization_consent = false where customer_id = ?",
        [erased],
    )
    result = run(conn, tmp_path, T0 + timedelta(hours=3), erased={erased})
    text = every_file_text(folder)
    assert not any(h in text for h in hashes)
    assert result.erased_rows == 5  # v1 members and adds, v2 removes, v3 members and adds
    assert result.publication.status == UNCHANGED  # the others' membership did not change
    for version in versions(folder):
        manifest = read_manifest(folder, version)
        members_file = folder / version / "members.csv"
        assert manifest["counts"]["members"] == len(rows(members_file)) - 1
        assert manifest["members_sha256"] == publication.file_sha256(members_file)
        assert (folder / version / "manifest.json").stat().st_mtime == mtimes[version]
    remaining = conn.execute(f"select distinct customer_id from {memberships.TABLE}").fetchall()
    assert remaining == [(other,)]


def test_erasure_found_only_in_the_shop_is_applied_at_publish_time(conn, tmp_path) -> None:
    erased, other = lapsed(conn), lapsed(conn)
    run(conn, tmp_path, T0)
    # erased in the shop after the last warehouse load: the warehouse still has the row
    later = run(conn, tmp_path, T0 + timedelta(hours=1), erased={erased}).publication
    assert email_of(erased) not in every_file_text(tmp_path)
    # the released version, rewritten, already says who is in: nothing new to publish
    assert later.status == UNCHANGED and later.counts == {"members": 1, "adds": 0, "removes": 0}
    assert rows(tmp_path / "lapsed_buyers" / str(later.previous_version) / "members.csv")[1:] == [
        [email_of(other), ""]
    ]


def test_a_crash_while_writing_leaves_no_version(conn, tmp_path, monkeypatch) -> None:
    lapsed(conn)
    first = run(conn, tmp_path, T0).publication
    lapsed(conn)

    def fail(table: pa.Table, path: Path) -> None:
        if path.name == "removes.csv":
            raise OSError("disk full")
        path.write_text("Email,Phone\n")

    monkeypatch.setattr(publication, "write_csv", fail)
    with pytest.raises(OSError, match="disk full"):
        run(conn, tmp_path, T0 + timedelta(hours=1))
    folder = tmp_path / "lapsed_buyers"
    assert versions(folder) == [first.version] and read_latest(folder) == first.version
    assert sorted(p.name for p in folder.iterdir()) == sorted(["LATEST", str(first.version)])


def test_retention_keeps_the_release_and_prunes_an_old_blocked_version(conn, tmp_path) -> None:
    ids = [lapsed(conn) for _ in range(4)]
    old = run(conn, tmp_path, T0).publication
    blocked = run(conn, tmp_path, T0 + timedelta(hours=1), withdrawn=set(ids[:3])).publication
    folder = tmp_path / "lapsed_buyers"
    month_ago = (datetime.now(UTC) - timedelta(days=40)).timestamp()
    for version in (old.version, blocked.version):
        os.utime(folder / str(version) / "manifest.json", (month_ago, month_ago))
    expire_versions(tmp_path, datetime.now(UTC) - timedelta(days=30), RetentionReport())
    assert versions(folder) == [old.version]  # the release LATEST names stays
    memberships.prune(conn, "lapsed_buyers", versions(folder))
    left = conn.execute(f"select distinct version from {memberships.TABLE}").fetchall()
    assert left == [(old.version,)]


def test_manifest_is_plain_json_readable_by_the_marketing_api(conn, tmp_path) -> None:
    lapsed(conn)
    result = run(conn, tmp_path, T0).publication
    text = (tmp_path / "lapsed_buyers" / str(result.version) / "manifest.json").read_text()
    assert json.loads(text)["source_data_versions"]["shop_consent_read_at"]


def temporary_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    query = "select table_name from duckdb_tables() where temporary"
    return {r[0] for r in conn.execute(query).fetchall()}


def test_a_refresh_run_publishes_as_single_refreshes_and_leaves_no_temporary_table(
    conn, tmp_path
) -> None:
    definitions = load_definitions()
    categories = [d for n, d in definitions.items() if n.startswith("category_affinity_")]
    fans = {}
    for definition, category in zip(
        categories[:3], ("electronics", "home", "fashion"), strict=True
    ):
        fans[definition.name] = wh.customer(conn, phone="+447911123456")
        listing = wh.product(conn, f"{category}/phones")
        wh.interaction(conn, fans[definition.name], listing, days_ago=5, weight=6.0)
    snapshot = consenting(conn)
    with refresh_run(conn, tmp_path / "run", snapshot, definitions=definitions) as batch:
        together = {d.name: batch.refresh(d, now=T0).publication for d in categories}
        assert {"category_fans_180d", "_audience_eligible"} <= temporary_tables(conn)
    assert temporary_tables(conn) == set()
    for definition in categories:
        alone = refresh_audience(conn, tmp_path / "alone", definition, snapshot, now=T0)
        assert together[definition.name].counts == alone.publication.counts
        assert together[definition.name].members.equals(alone.publication.members)
        expected = [fans[definition.name]] if definition.name in fans else []
        assert together[definition.name].members["customer_id"].to_pylist() == expected
    assert temporary_tables(conn) == set()
