"""Listing images: what is accepted, what is cleaned, what is refused, and serving them back."""

from __future__ import annotations

import io
import random
import struct
import threading
import uuid
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import ExifTags, Image, ImageCms, ImageFile, PngImagePlugin

from tests.factories import (
    Actor,
    Factory,
    assert_error,
    jpeg_bytes,
    png_bytes,
    webp_bytes,
)


def upload(
    client: TestClient,
    actor: Actor | None,
    listing_id: str,
    data: bytes,
    name: str = "photo.png",
    content_type: str = "image/png",
) -> Any:
    return client.post(
        f"/listings/{listing_id}/images",
        files={"file": (name, data, content_type)},
        headers=actor.headers if actor else {},
    )


def media_path(url: str) -> str:
    """The path of a public media URL, to fetch it through the test client."""
    return urlsplit(url).path


def noisy_png(width: int = 64, height: int = 64) -> bytes:
    """A PNG that does not compress away, so cutting it really loses pixels."""
    rng = random.Random(width * height)
    pixels = bytes(rng.randrange(256) for _ in range(width * height * 3))
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def exif_with_location(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "EOS 5D"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (40.0, 26.0, 46.0),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (79.0, 58.0, 56.0),
    }
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    return exif.tobytes()


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_metadata() -> bytes:
    """A JPEG carrying a comment (COM), EXIF with a location (APP1), XMP (APP1) and an
    ICC profile (APP2)."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), "blue").save(
        buffer,
        format="JPEG",
        comment=b"shot at 12 Rua das Flores by ana@example.com",
        exif=exif_with_location(),
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>secret</x:xmpmeta>",
        icc_profile=icc_profile(),
    )
    return buffer.getvalue()


def png_with_metadata() -> bytes:
    """A PNG carrying text chunks, EXIF and an ICC profile."""
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "shot at 12 Rua das Flores")
    text.add_itxt("Author", "ana@example.com")
    buffer = io.BytesIO()
    Image.new("RGBA", (16, 8), (0, 0, 255, 128)).save(
        buffer, format="PNG", pnginfo=text, exif=exif_with_location(), icc_profile=icc_profile()
    )
    return buffer.getvalue()


def webp_with_metadata() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), "green").save(
        buffer,
        format="WEBP",
        exif=exif_with_location(),
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>secret</x:xmpmeta>",
        icc_profile=icc_profile(),
    )
    return buffer.getvalue()


def jpeg_segments(data: bytes) -> list[int]:
    """The marker of each segment before the image data (SOS), in order."""
    assert data[:2] == b"\xff\xd8"
    markers, offset = [], 2
    while True:
        assert data[offset] == 0xFF, offset
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return markers
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return kinds


def webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    kinds, offset = [], 12
    while offset < len(data):
        kind = data[offset : offset + 4]
        (length,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        kinds.append(kind)
        offset += 8 + length + (length & 1)
    return kinds


# JPEG: SOI-less segment markers of pixel data only: APP0 (JFIF), DQT, DHT, DRI, SOF0-2, SOS.
JPEG_PIXEL_SEGMENTS = {0xE0, 0xDB, 0xC4, 0xDD, 0xC0, 0xC1, 0xC2, 0xDA}
PNG_PIXEL_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
WEBP_PIXEL_CHUNKS = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}


@pytest.fixture
def listing(factory: Factory, seller: Actor) -> dict[str, Any]:
    return factory.listing(seller)


class TestUpload:
    def test_anonymous(self, client: TestClient, listing: dict) -> None:
        assert_error(upload(client, None, listing["id"], png_bytes()), 401)

    def test_not_existing(self, client: TestClient, seller: Actor) -> None:
        assert_error(upload(client, seller, str(uuid.uuid4()), png_bytes()), 404, "not_found")

    def test_not_owner(
        self,
        client: TestClient,
        factory: Factory,
        listing: dict,
        seller: Actor,
        other_seller: Actor,
    ) -> None:
        draft = factory.listing(seller, status="draft")
        assert_error(upload(client, other_seller, listing["id"], png_bytes()), 403, "forbidden")
        assert_error(upload(client, other_seller, draft["id"], png_bytes()), 404)
        assert client.get(f"/listings/{listing['id']}").json()["images"] == []

    @pytest.mark.parametrize(
        ("data", "content_type", "extension", "pillow_format"),
        [
            pytest.param(png_bytes(12, 7), "image/png", "png", "PNG", id="png"),
            pytest.param(jpeg_bytes(12, 7), "image/jpeg", "jpg", "JPEG", id="jpeg"),
            pytest.param(webp_bytes(12, 7), "image/webp", "webp", "WEBP", id="webp"),
        ],
    )
    def test_valid(
        self,
        client: TestClient,
        listing: dict,
        seller: Actor,
        data: bytes,
        content_type: str,
        extension: str,
        pillow_format: str,
    ) -> None:
        response = upload(client, seller, listing["id"], data, f"photo.{extension}", content_type)

        assert response.status_code == 201, response.text
        image = response.json()
        assert image["content_type"] == content_type
        assert (image["width"], image["height"]) == (12, 7)
        assert image["position"] == 0
        assert image["url"].endswith(f".{extension}")

        served = client.get(media_path(image["url"]))
        assert served.status_code == 200
        assert served.headers["content-type"] == content_type
        assert served.headers["x-content-type-options"] == "nosniff"
        assert len(served.content) == image["size_bytes"]
        with Image.open(io.BytesIO(served.content)) as stored:
            assert stored.format == pillow_format
            assert stored.size == (12, 7)

    def test_images_are_listed_in_upload_order(
        self, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        first = upload(client, seller, listing["id"], png_bytes(5, 5)).json()
        second = upload(client, seller, listing["id"], jpeg_bytes(6, 6), "b.jpg").json()

        assert (first["position"], second["position"]) == (0, 1)
        assert client.get(f"/listings/{listing['id']}").json()["images"] == [first, second]
        results = client.get("/listings", params={"seller_id": str(seller.id)}).json()
        assert results["data"][0]["cover_image_url"] == first["url"]

    def test_staff_may_moderate(self, client: TestClient, listing: dict, staff: Actor) -> None:
        assert upload(client, staff, listing["id"], png_bytes()).status_code == 201


class TestCleaning:
    def test_exif_is_stripped_from_jpegs(
        self, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        original = jpeg_bytes(20, 10, exif=exif_with_location())
        with Image.open(io.BytesIO(original)) as before:
            assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test data has a location

        image = upload(client, seller, listing["id"], original, "x.jpg", "image/jpeg").json()

        served = client.get(media_path(image["url"])).content
        with Image.open(io.BytesIO(served)) as stored:
            exif = stored.getexif()
            assert ExifTags.Base.Make not in exif
            assert ExifTags.Base.Model not in exif
            assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
            assert "exif" not in stored.info
        assert b"Canon" not in served

    def test_orientation_is_applied_before_exif_is_dropped(
        self, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        # Orientation 6: the camera was turned, the picture must be shown rotated 90 degrees.
        original = jpeg_bytes(20, 10, exif=exif_with_location(orientation=6))

        image = upload(client, seller, listing["id"], original, "x.jpg", "image/jpeg").json()

        assert (image["width"], image["height"]) == (10, 20)
        with Image.open(io.BytesIO(client.get(media_path(image["url"])).content)) as stored:
            assert stored.size == (10, 20)
            assert ExifTags.Base.Orientation not in stored.getexif()

    def test_jpeg_comment_and_every_other_metadata_segment_are_dropped(
        self, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        original = jpeg_with_metadata()
        assert {0xFE, 0xE1, 0xE2} <= set(jpeg_segments(original))  # COM, EXIF/XMP, ICC

        image = upload(client, seller, listing["id"], original, "x.jpg", "image/jpeg").json()

        served = client.get(media_path(image["url"])).content
        assert set(jpeg_segments(served)) <= JPEG_PIXEL_SEGMENTS, jpeg_segments(served)
        for secret in (b"Rua das Flores", b"ana@example.com", b"Canon", b"secret"):
            assert secret not in served
        with Image.open(io.BytesIO(served)) as stored:
            assert stored.size == (16, 8)
            assert not {"comment", "exif", "icc_profile", "xmp"} & set(stored.info)

    @pytest.mark.parametrize(
        ("data", "chunks", "allowed"),
        [
            pytest.param(png_with_metadata(), png_chunks, PNG_PIXEL_CHUNKS, id="png"),
            pytest.param(webp_with_metadata(), webp_chunks, WEBP_PIXEL_CHUNKS, id="webp"),
        ],
    )
    def test_png_and_webp_keep_pixel_chunks_only(
        self, client: TestClient, listing: dict, seller: Actor, data: bytes, chunks, allowed
    ) -> None:
        assert not set(chunks(data)) <= allowed  # the test data carries metadata

        image = upload(client, seller, listing["id"], data).json()

        served = client.get(media_path(image["url"])).content
        assert set(chunks(served)) <= allowed, chunks(served)
        for secret in (b"Rua das Flores", b"ana@example.com", b"Canon", b"secret"):
            assert secret not in served

    def test_transparency_survives_cleaning(
        self, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        image = upload(client, seller, listing["id"], png_with_metadata()).json()

        with Image.open(io.BytesIO(client.get(media_path(image["url"])).content)) as stored:
            assert stored.mode == "RGBA"
            assert stored.getpixel((0, 0)) == (0, 0, 255, 128)

    def test_content_is_sniffed_not_trusted(
        self, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        response = upload(client, seller, listing["id"], png_bytes(), "x.jpg", "image/jpeg")

        assert response.status_code == 201, response.text
        image = response.json()
        assert image["content_type"] == "image/png"
        assert image["url"].endswith(".png")
        served = client.get(media_path(image["url"]))
        assert served.headers["content-type"] == "image/png"
        assert served.content.startswith(b"\x89PNG")

    def test_the_client_file_name_is_not_used(
        self, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        response = upload(client, seller, listing["id"], png_bytes(), "../../evil.html")
        assert response.status_code == 201, response.text
        assert "evil" not in response.json()["url"]
        assert f"/media/listings/{listing['id']}/" in response.json()["url"]


class TestRefused:
    @pytest.mark.parametrize(
        ("data", "name"),
        [
            pytest.param(b"just some text, not a picture\n", "x.png", id="text-named-png"),
            pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.svg", id="svg"),
            pytest.param(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "x.png", id="pdf"),
        ],
    )
    def test_not_an_image(
        self, client: TestClient, listing: dict, seller: Actor, data: bytes, name: str
    ) -> None:
        response = upload(client, seller, listing["id"], data, name)
        assert_error(response, 415, "unsupported_media_type")

    @pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
    def test_unsupported_format(
        self, client: TestClient, listing: dict, seller: Actor, image_format: str
    ) -> None:
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4), "red").save(buffer, format=image_format)
        response = upload(client, seller, listing["id"], buffer.getvalue(), "x.png")
        error = assert_error(response, 415, "unsupported_media_type")
        assert error["details"] == {"supported": ["JPEG", "PNG", "WEBP"]}

    def test_empty_file(self, client: TestClient, listing: dict, seller: Actor) -> None:
        assert_error(upload(client, seller, listing["id"], b""), 422, "validation_error")

    def test_missing_file(self, client: TestClient, listing: dict, seller: Actor) -> None:
        response = client.post(f"/listings/{listing['id']}/images", headers=seller.headers)
        assert_error(response, 422, "validation_error")

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param(noisy_png()[: len(noisy_png()) // 2], id="truncated-png"),
            pytest.param(jpeg_bytes(64, 64)[:-200], id="truncated-jpeg"),
            pytest.param(noisy_png()[:100] + bytes(200) + noisy_png()[300:], id="corrupt-png"),
        ],
    )
    def test_broken_image(
        self, client: TestClient, listing: dict, seller: Actor, data: bytes
    ) -> None:
        assert_error(upload(client, seller, listing["id"], data), 422, "validation_error")

    def test_file_over_the_size_limit(
        self, app: FastAPI, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        limit = app.state.settings.max_image_bytes
        data = png_bytes() + bytes(limit + 1 - len(png_bytes()))

        assert_error(upload(client, seller, listing["id"], data), 413, "payload_too_large")
        assert client.get(f"/listings/{listing['id']}").json()["images"] == []

    @pytest.mark.parametrize(
        "size",
        [
            pytest.param("just-over-setting", id="over-max-image-pixels"),
            pytest.param((10_000, 10_000), id="pillow-bomb-warning"),
            pytest.param((100_000, 100_000), id="pillow-bomb-error"),
        ],
    )
    def test_too_many_pixels(
        self, app: FastAPI, client: TestClient, listing: dict, seller: Actor, size: Any
    ) -> None:
        if size == "just-over-setting":
            width = 10_000
            size = (width, app.state.settings.max_image_pixels // width + 1)
        data = png_declaring(*size)
        assert len(data) < 200

        assert_error(upload(client, seller, listing["id"], data), 413, "payload_too_large")

    def test_images_per_listing_limit(
        self, app: FastAPI, client: TestClient, factory: Factory, listing: dict, seller: Actor
    ) -> None:
        limit = app.state.settings.max_images_per_listing
        images = [factory.image(seller, listing["id"], png_bytes(2, 2)) for _ in range(limit)]

        assert_error(upload(client, seller, listing["id"], png_bytes(2, 2)), 409, "conflict")

        client.delete(f"/listings/{listing['id']}/images/{images[0]['id']}", headers=seller.headers)
        replacement = factory.image(seller, listing["id"], png_bytes(2, 2))
        assert replacement["position"] == limit
        assert len(client.get(f"/listings/{listing['id']}").json()["images"]) == limit


class TestDecodingHoldsNoWriteLock:
    """An upload is decoded, re-encoded and hashed before its short write transaction:
    other writes go on meanwhile (on SQLite no write waits behind a decoding upload)."""

    def test_a_cart_add_and_a_listing_edit_complete_while_an_upload_decodes(
        self,
        client: TestClient,
        factory: Factory,
        listing: dict,
        seller: Actor,
        shopper: Actor,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        decoding = threading.Event()
        others_done = threading.Event()
        seen: dict[str, bool] = {}
        original_load = ImageFile.ImageFile.load

        def instrumented_load(image: ImageFile.ImageFile) -> Any:
            """The real decoder, held until the other writes are done (or give up)."""
            if not decoding.is_set():
                decoding.set()
                # A guard against a deadlock only: the writes never wait on the decoder.
                seen["others_done_while_decoding"] = others_done.wait(timeout=30)
            return original_load(image)

        monkeypatch.setattr(ImageFile.ImageFile, "load", instrumented_load)
        uploaded: dict[str, Any] = {}

        def send_upload() -> None:
            uploaded["response"] = upload(client, seller, listing["id"], noisy_png(32, 32))

        uploader = threading.Thread(target=send_upload)
        uploader.start()
        try:
            assert decoding.wait(timeout=30), "the upload never reached the decoder"
            added = client.post(
                "/cart/items", json={"listing_id": listing["id"]}, headers=shopper.headers
            )
            edited = client.patch(
                f"/listings/{listing['id']}", json={"stock": 7}, headers=seller.headers
            )
            others_done.set()
        finally:
            others_done.set()
            uploader.join()

        assert added.status_code == 201, added.text
        assert edited.status_code == 200, edited.text
        assert seen == {"others_done_while_decoding": True}
        assert uploaded["response"].status_code == 201, uploaded["response"].text
        page = client.get(f"/listings/{listing['id']}").json()
        assert [image["id"] for image in page["images"]] == [uploaded["response"].json()["id"]]
        assert page["stock"] == 7


class TestBodySizeLimit:
    """The global limit (image limit plus room for the form) is enforced before parsing."""

    def limit(self, app: FastAPI) -> int:
        return app.state.settings.max_image_bytes + 256 * 1024

    def test_declared_length_over_the_limit(
        self, app: FastAPI, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        body = bytes(self.limit(app) + 1)
        response = client.post(
            f"/listings/{listing['id']}/images",
            content=body,
            headers={**seller.headers, "Content-Type": "multipart/form-data; boundary=x"},
        )
        assert_error(response, 413, "payload_too_large")
        assert response.headers["x-request-id"]

    def test_any_endpoint(self, app: FastAPI, client: TestClient) -> None:
        response = client.post(
            "/auth/signup",
            content=b"[" + b"1," * (self.limit(app) // 2) + b"1]",
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 413, "payload_too_large")

    def test_streamed_body_without_length(
        self, app: FastAPI, client: TestClient, listing: dict, seller: Actor
    ) -> None:
        chunk = bytes(64 * 1024)
        chunks = self.limit(app) // len(chunk) + 2

        def stream() -> Iterator[bytes]:
            for _ in range(chunks):
                yield chunk

        response = client.post(
            f"/listings/{listing['id']}/images",
            content=stream(),
            headers={**seller.headers, "Content-Type": "multipart/form-data; boundary=x"},
        )
        assert_error(response, 413, "payload_too_large")

    def test_invalid_content_length(self, client: TestClient) -> None:
        response = client.post(
            "/auth/signup",
            content=b"{}",
            headers={"Content-Type": "application/json", "Content-Length": "lots"},
        )
        assert_error(response, 400, "bad_request")


class TestDelete:
    def test_valid_removes_row_and_object(
        self, client: TestClient, factory: Factory, listing: dict, seller: Actor
    ) -> None:
        kept = factory.image(seller, listing["id"])
        deleted = factory.image(seller, listing["id"])

        response = client.delete(
            f"/listings/{listing['id']}/images/{deleted['id']}", headers=seller.headers
        )

        assert response.status_code == 204
        assert response.content == b""
        assert_error(client.get(media_path(deleted["url"])), 404, "not_found")
        assert client.get(media_path(kept["url"])).status_code == 200
        assert client.get(f"/listings/{listing['id']}").json()["images"] == [kept]

    def test_anonymous(self, client: TestClient, factory: Factory, listing: dict, seller: Actor):
        image = factory.image(seller, listing["id"])
        assert_error(client.delete(f"/listings/{listing['id']}/images/{image['id']}"), 401)

    def test_not_owner(
        self,
        client: TestClient,
        factory: Factory,
        listing: dict,
        seller: Actor,
        other_seller: Actor,
    ) -> None:
        image = factory.image(seller, listing["id"])
        response = client.delete(
            f"/listings/{listing['id']}/images/{image['id']}", headers=other_seller.headers
        )
        assert_error(response, 403)
        assert client.get(media_path(image["url"])).status_code == 200

    def test_not_existing(
        self, client: TestClient, factory: Factory, listing: dict, seller: Actor
    ) -> None:
        image = factory.image(seller, listing["id"])
        url = f"/listings/{listing['id']}/images/{image['id']}"
        assert client.delete(url, headers=seller.headers).status_code == 204

        assert_error(client.delete(url, headers=seller.headers), 404)
        missing = f"/listings/{listing['id']}/images/{uuid.uuid4()}"
        assert_error(client.delete(missing, headers=seller.headers), 404)

    def test_image_of_another_listing(
        self, client: TestClient, factory: Factory, listing: dict, seller: Actor
    ) -> None:
        other = factory.listing(seller)
        image = factory.image(seller, other["id"])
        response = client.delete(
            f"/listings/{listing['id']}/images/{image['id']}", headers=seller.headers
        )
        assert_error(response, 404)
        assert client.get(media_path(image["url"])).status_code == 200


class TestMedia:
    @pytest.fixture
    def secret(self, app: FastAPI) -> Iterator[str]:
        """A file next to the media folder that must never be served."""
        path = app.state.settings.resolved_home / "secret.txt"
        path.write_text("do not serve")
        yield path.name
        path.unlink()

    def test_unknown_object(self, client: TestClient) -> None:
        assert_error(client.get(f"/media/listings/{uuid.uuid4()}/x.png"), 404, "not_found")

    @pytest.mark.parametrize(
        "path",
        [
            "/media/../secret.txt",
            "/media/../../etc/passwd",
            "/media/%2e%2e/secret.txt",
            "/media/%2E%2E%2Fsecret.txt",
            "/media/..%2fsecret.txt",
            "/media/..%2f..%2f..%2fetc%2fpasswd",
            "/media/%2fetc%2fpasswd",
            "/media//etc/passwd",
            "/media/listings/..%2f..%2fsecret.txt",
            "/media/./listings",
            "/media/listings",
            "/media/listings/",
            "/media/",
            "/media/..%5csecret.txt",
            "/media/%252e%252e%252fsecret.txt",
            "/media/x%00.png",
            "/media/" + "a" * 300 + ".png",
            "/media/" + "%C3%A9" * 200 + ".png",
        ],
    )
    def test_paths_outside_the_store_are_not_found(
        self, client: TestClient, secret: str, path: str
    ) -> None:
        response = client.get(path)
        assert response.status_code == 404, response.text
        assert b"do not serve" not in response.content
        assert b"root:" not in response.content
