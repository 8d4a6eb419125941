"""Staff-only marketing API: published audiences read from their files (the layout the
audiences pipeline writes), the authorisation matrix, versions, ETag and 304, 404s."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import Factory

OLD, BLOCKED, NEW = "20261201T020000Z", "20261207T020000Z", "20261204T020000Z"
HEADER = "Email,Phone\n"


def members_csv(rows: int, seed: str) -> str:
    lines = [
        f"{hashlib.sha256(f'{seed}-{n}@example.com'.encode()).hexdigest()}," for n in range(rows)
    ]
    return HEADER + "".join(f"{line}\n" for line in lines)


@dataclass
class Audience:
    name: str
    folder: Path
    members: dict[str, str]  # version -> members.csv text


def publish(root: Path, name: str, version: str, status: str, members: str, **extra: Any) -> None:
    folder = root / name / version
    folder.mkdir(parents=True)
    (folder / "members.csv").write_text(members)
    (folder / "adds.csv").write_text(HEADER)
    (folder / "removes.csv").write_text(HEADER)
    manifest = {
        "audience": name, "version": version, "created_at": f"{version[:4]}-{version[4:6]}-"
        f"{version[6:8]}T{version[9:11]}:{version[11:13]}:{version[13:15]}Z", "status": status,
        "description": "Shoppers who left a cart", "owner": "crm@mercado.example",
        "identifier_types": ["email", "phone"], "definition_hash": "ab" * 32,
        "counts": {"members": members.count("\n") - 1, "adds": 0, "removes": 0},
        "previous_version": None, "source_data_versions": {"dim_customers": "run-1"},
        "approved_by": None, "approved_at": None,
        "members_sha256": hashlib.sha256(members.encode()).hexdigest(),
    } | extra  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def audience(app: FastAPI) -> Audience:
    """Three versions: an old one, the released one (LATEST) and a newer blocked one."""
    root = app.state.settings.published_audiences_dir
    name = f"cart_abandoners_{uuid.uuid4().hex[:8]}"
    members = {OLD: members_csv(3, "old"), NEW: members_csv(5, "new"), BLOCKED: members_csv(1, "b")}
    publish(root, name, OLD, "published", members[OLD])
    publish(root, name, NEW, "approved", members[NEW], previous_version=OLD,
            approved_by="staff@mercado.example", approved_at="2026-12-04T09:00:00Z")  # fmt: skip
    publish(root, name, BLOCKED, "blocked", members[BLOCKED], previous_version=NEW)
    (root / name / "LATEST").write_text(f"{NEW}\n")
    return Audience(name, root / name, members)


@pytest.fixture
def staff_headers(factory: Factory) -> dict[str, str]:
    return factory.user("staff").headers


def error_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]["code"]


class TestAuthorisation:
    @pytest.mark.parametrize(
        "endpoint", ["", "/versions", "/members.csv"], ids=["list", "versions", "members"]
    )
    @pytest.mark.parametrize(
        ("role", "status"),
        [(None, 401), ("shopper", 403), ("seller", 403), ("staff", 200)],
        ids=["anonymous", "shopper", "seller", "staff"],
    )
    def test_matrix(
        self, client: TestClient, factory: Factory, audience: Audience, endpoint: str,
        role: str | None, status: int,
    ):  # fmt: skip
        url = (
            f"/marketing/audiences/{audience.name}{endpoint}"
            if endpoint
            else ("/marketing/audiences")
        )
        headers = factory.user(role).headers if role else {}

        response = client.get(url, headers=headers)

        assert response.status_code == status, response.text
        if status == 401:
            assert error_code(response, 401) == "unauthorized"
        elif status == 403:
            assert error_code(response, 403) == "forbidden"


class TestAudiences:
    def test_lists_each_audience_with_its_released_version(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str]
    ):
        response = client.get("/marketing/audiences", headers=staff_headers)

        assert response.status_code == 200, response.text
        [mine] = [a for a in response.json()["data"] if a["name"] == audience.name]
        assert mine["latest_version"] == NEW
        assert mine["latest"]["status"] == "approved"
        assert mine["latest"]["counts"] == {"members": 5, "adds": 0, "removes": 0}
        assert mine["latest"]["approved_by"] == "staff@mercado.example"

    def test_an_audience_not_yet_released_has_no_latest(
        self, client: TestClient, app: FastAPI, staff_headers: dict[str, str]
    ):
        root = app.state.settings.published_audiences_dir
        name = f"first_run_{uuid.uuid4().hex[:8]}"
        publish(root, name, OLD, "blocked", members_csv(2, "x"))

        response = client.get("/marketing/audiences", headers=staff_headers)

        [mine] = [a for a in response.json()["data"] if a["name"] == name]
        assert (mine["latest_version"], mine["latest"]) == (None, None)
        missing = client.get(f"/marketing/audiences/{name}/members.csv", headers=staff_headers)
        assert error_code(missing, 404) == "not_found"


class TestVersions:
    def test_every_version_newest_first_with_its_status(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str]
    ):
        response = client.get(
            f"/marketing/audiences/{audience.name}/versions", headers=staff_headers
        )

        assert response.status_code == 200, response.text
        page = response.json()
        assert (page["count"], page["page"]) == (3, 1)
        assert [(v["version"], v["status"], v["is_latest"]) for v in page["data"]] == [
            (BLOCKED, "blocked", False),
            (NEW, "approved", True),
            (OLD, "published", False),
        ]
        assert page["data"][1]["previous_version"] == OLD
        assert (
            page["data"][1]["members_sha256"]
            == hashlib.sha256(audience.members[NEW].encode()).hexdigest()
        )

    def test_paged(self, client: TestClient, audience: Audience, staff_headers: dict[str, str]):
        response = client.get(
            f"/marketing/audiences/{audience.name}/versions",
            params={"page": 2, "page_size": 2},
            headers=staff_headers,
        )

        assert response.status_code == 200, response.text
        assert response.json()["count"] == 3
        assert [v["version"] for v in response.json()["data"]] == [OLD]

    def test_a_folder_still_being_written_is_not_listed(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str]
    ):
        (audience.folder / "20261208T020000Z").mkdir()  # no manifest yet

        response = client.get(
            f"/marketing/audiences/{audience.name}/versions", headers=staff_headers
        )

        assert [v["version"] for v in response.json()["data"]] == [BLOCKED, NEW, OLD]


class TestMembers:
    def url(self, audience: Audience) -> str:
        return f"/marketing/audiences/{audience.name}/members.csv"

    def test_serves_the_version_latest_names_not_the_newer_blocked_one(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str]
    ):
        response = client.get(self.url(audience), headers=staff_headers)

        assert response.status_code == 200, response.text
        assert response.text == audience.members[NEW]
        assert response.text.startswith("Email,Phone\n")
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["x-audience-version"] == NEW
        digest = hashlib.sha256(audience.members[NEW].encode()).hexdigest()
        assert response.headers["etag"] == f'"{digest}"'
        assert f"{audience.name}-{NEW}-members.csv" in response.headers["content-disposition"]

    @pytest.mark.parametrize("version", [OLD, BLOCKED])
    def test_version_picks_one(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str], version: str
    ):
        response = client.get(
            self.url(audience), params={"version": version}, headers=staff_headers
        )

        assert response.status_code == 200, response.text
        assert response.text == audience.members[version]
        assert response.headers["x-audience-version"] == version

    def test_not_modified_when_the_etag_matches(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str]
    ):
        first = client.get(self.url(audience), headers=staff_headers)

        again = client.get(
            self.url(audience), headers={**staff_headers, "If-None-Match": first.headers["etag"]}
        )

        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == first.headers["etag"]

    def test_a_new_release_changes_the_etag(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str]
    ):
        before = client.get(self.url(audience), headers=staff_headers).headers["etag"]
        (audience.folder / "LATEST").write_text(OLD)

        after = client.get(self.url(audience), headers={**staff_headers, "If-None-Match": before})

        assert after.status_code == 200, after.text
        assert after.text == audience.members[OLD]
        assert after.headers["etag"] != before

    def test_another_version_is_not_modified_by_an_old_etag(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str]
    ):
        latest = client.get(self.url(audience), headers=staff_headers).headers["etag"]

        old = client.get(
            self.url(audience),
            params={"version": OLD},
            headers={**staff_headers, "If-None-Match": latest},
        )

        assert old.status_code == 200
        assert old.text == audience.members[OLD]


class TestNotFoundAndRefused:
    @pytest.mark.parametrize(
        "path",
        [
            "/marketing/audiences/no_such_audience/versions",
            "/marketing/audiences/no_such_audience/members.csv",
        ],
    )
    def test_unknown_audience(self, client: TestClient, staff_headers: dict[str, str], path: str):
        assert error_code(client.get(path, headers=staff_headers), 404) == "not_found"

    def test_unknown_version(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str]
    ):
        response = client.get(
            f"/marketing/audiences/{audience.name}/members.csv",
            params={"version": "20990101T000000Z"},
            headers=staff_headers,
        )

        assert error_code(response, 404) == "not_found"

    @pytest.mark.parametrize(
        "name", ["..", "%2e%2e", "Cart", "cart-abandoners", "a%2F..%2F..", "%2e%2e%2fLATEST"]
    )
    def test_names_outside_the_pattern_are_refused(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str], name: str
    ):
        response = client.get(f"/marketing/audiences/{name}/members.csv", headers=staff_headers)

        assert response.status_code in (404, 422), response.text
        assert "Email,Phone" not in response.text

    @pytest.mark.parametrize(
        "version", ["../../etc", "..", f"{NEW}/../{OLD}", "latest", "20261204T020000Z.bak"]
    )
    def test_versions_outside_the_pattern_are_refused(
        self, client: TestClient, audience: Audience, staff_headers: dict[str, str], version: str
    ):
        response = client.get(
            f"/marketing/audiences/{audience.name}/members.csv",
            params={"version": version},
            headers=staff_headers,
        )

        assert error_code(response, 422) == "validation_error"

    def test_a_file_outside_the_audiences_is_not_served(
        self, client: TestClient, app: FastAPI, audience: Audience, staff_headers: dict[str, str]
    ):
        secret = app.state.settings.resolved_home / "published" / "members.csv"
        secret.write_text("secret\n")

        response = client.get("/marketing/audiences/../members.csv", headers=staff_headers)

        assert response.status_code == 404
        assert "secret" not in response.text
