"""Photos through the gateway on PostgreSQL: what comes back carries no position, hostile
pictures are refused with a JSON answer, and five is the limit however uploads arrive."""

import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.helpers import Staff, image

pytestmark = pytest.mark.e2e

GPS_IFD, ORIENTATION = 0x8825, 0x0112


@pytest.fixture(scope="module")
def reporter(staff: Staff, http: httpx.Client) -> dict[str, Any]:
    return staff.portal_account("Fotografen AB", "Takfläkt 3", order_direct=False)


def phone_photo() -> bytes:
    """60×20, taken with the phone turned (EXIF orientation 6), with a GPS position."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[GPS_IFD] = {1: "N", 2: (59.0, 36.0, 30.0), 3: "E", 4: (16.0, 33.0, 0.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), (20, 20, 220)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A 1×1 PNG whose header says width×height (and whose checksum agrees)."""
    data = bytearray(image("PNG", (1, 1)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def upload(http: httpx.Client, fault_id: str, photo: bytes, **headers: str) -> httpx.Response:
    files = {"photo": ("bild.jpg", photo, "image/jpeg")}
    return http.post(f"/api/faults/{fault_id}/photos", files=files, headers=headers)


def test_a_photo_fetched_back_has_no_gps_position_and_stands_upright(
    http: httpx.Client, staff: Staff, reporter: dict[str, Any]
) -> None:
    fault = staff.report(reporter["h"], reporter["facility"]["id"], "Se bilden")
    added = upload(http, fault["id"], phone_photo(), **reporter["h"])
    assert added.status_code == 201, added.text
    path = f"/faults/{fault['id']}/photos/{added.json()['id']}"
    for served in (http.get(f"/api{path}", headers=reporter["h"]),
                   http.get(f"/admin/api{path}", headers=staff.h)):  # fmt: skip
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        kept = Image.open(io.BytesIO(served.content))
        assert kept.getexif().get_ifd(GPS_IFD) == {} and len(kept.getexif()) == 0
        assert kept.size == (20, 60)


def test_a_png_claiming_30000_by_30000_pixels_is_refused_with_413(
    http: httpx.Client, staff: Staff, reporter: dict[str, Any]
) -> None:
    fault = staff.report(reporter["h"], reporter["facility"]["id"], "Bomben")
    refused = upload(http, fault["id"], png_claiming(30_000, 30_000), **reporter["h"])
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"] == "photo_too_large"


def test_uploads_at_the_same_moment_end_with_exactly_five_photos(
    http: httpx.Client, staff: Staff, reporter: dict[str, Any]
) -> None:
    fault = staff.report(reporter["h"], reporter["facility"]["id"], "Tio bilder på en gång")
    photo = image("JPEG", (64, 48))

    def one(n: int) -> httpx.Response:
        # Each as from an address of its own: a per-address limit of the gateway's is not
        # what this test is about.
        headers = {**reporter["h"], "X-Forwarded-For": f"10.9.0.{n}"}
        return upload(http, fault["id"], photo, **headers)

    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(one, range(10)))
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201] * 5 + [409] * 5, [r.text for r in replies]
    assert {r.json()["error"] for r in replies if r.status_code == 409} == {"too_many_photos"}
    photos = http.get(f"/api/faults/{fault['id']}", headers=reporter["h"]).json()["photos"]
    assert len(photos) == 5
