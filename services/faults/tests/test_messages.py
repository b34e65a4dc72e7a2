"""The conversation routes of the faults service on a real database: customers and staff
writing, staff's notes, unread counts in the queue, photos on messages, and what another
account or a bad request gets."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from faults_app import Service, refused, service_on
from pictures import assert_no_metadata, phone_photo, picture

from kundonline_contracts import CloudEvent, FaultMessagePosted, unwrap
from kundonline_faults.tables import FaultMessage, FaultPhoto

STAFF = {"role": "handler", "name": "Sven"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Service]:
    async with service_on(request.param, request, tmp_path) as service:
        yield service


def _staff(service: Service) -> dict[str, str]:
    return service.as_("staff-1", **STAFF)


async def _write(
    service: Service, fault: UUID | str, text: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await service.http.post(
        f"/api/faults/{fault}/messages", json={"body": text}, headers=headers or service.reporter
    )


async def _answer(
    service: Service, fault: UUID, text: str, internal: bool = False
) -> httpx.Response:
    return await service.http.post(
        f"/admin/api/faults/{fault}/messages",
        json={"body": text, "internal": internal},
        headers=_staff(service),
    )


async def _unread(service: Service) -> dict[UUID, int]:
    """The queue's answer to "which faults have customer messages staff have not read"."""
    reply = await service.http.get("/admin/api/faults?unread=true", headers=_staff(service))
    assert reply.status_code == 200, reply.text
    queue = reply.json()
    assert queue["total"] == len(queue["items"])
    return {UUID(f["id"]): f["unread_customer_messages"] for f in queue["items"]}


async def _posted(service: Service) -> list[FaultMessagePosted]:
    events = [unwrap(CloudEvent.from_bytes(r.value)) for r in await service.outbox()]
    return [e for e in events if isinstance(e, FaultMessagePosted)]


async def test_customer_and_staff_write_staff_notes_stay_with_staff_and_reading_clears_unread(
    service: Service,
) -> None:
    fault, quiet = await service.fault(), await service.fault()
    first = await _write(service, fault, "  Hissen står still igen.\n ")
    assert first.status_code == 201, first.text
    assert first.json()["body"] == "Hissen står still igen."
    assert first.json()["mine"] is True and first.json()["author_kind"] == "customer"
    assert (await _write(service, fault, "Nu piper larmet också.")).status_code == 201
    assert await _unread(service) == {fault: 2}
    queued = (await service.http.get("/admin/api/faults", headers=_staff(service))).json()
    assert {UUID(f["id"]): f["unread_customer_messages"] for f in queued["items"]} == {
        fault: 2,
        quiet: 0,
    }

    read = await service.http.get(f"/admin/api/faults/{fault}/messages", headers=_staff(service))
    assert [m["body"] for m in read.json()["items"]] == [
        "Nu piper larmet också.",
        "Hissen står still igen.",
    ]
    assert await _unread(service) == {}

    note = await _answer(service, fault, "Kunden har ringt två gånger.", internal=True)
    assert note.status_code == 201 and note.json()["internal"] is True
    answer = await _answer(service, fault, "Teknikern kommer i morgon kl. 8.")
    assert answer.json()["author_name"] == "Sven" and answer.json()["author_id"] == "staff-1"

    mine = await service.http.get(f"/api/faults/{fault}/messages", headers=service.reporter)
    assert [m["body"] for m in mine.json()["items"]] == [
        "Teknikern kommer i morgon kl. 8.",
        "Nu piper larmet också.",
        "Hissen står still igen.",
    ]
    assert "Kunden har ringt" not in mine.text
    assert all(
        set(m) >= {"mine", "author_name"} and "internal" not in m for m in mine.json()["items"]
    )
    assert all("author_id" not in m for m in mine.json()["items"])
    staffs = await service.http.get(f"/admin/api/faults/{fault}/messages", headers=_staff(service))
    assert [m["internal"] for m in staffs.json()["items"]] == [False, True, False, False]

    events = await _posted(service)
    assert [(e.author_kind, e.internal) for e in events] == [
        ("customer", False),
        ("customer", False),
        ("staff", True),
        ("staff", False),
    ]
    assert {e.fault_id for e in events} == {fault}
    assert {r.key for r in await service.outbox()} == {str(fault)}


async def test_a_colleague_linked_to_the_facility_may_write_and_the_queue_pages(
    service: Service,
) -> None:
    facility, colleague = uuid4(), uuid4()
    await service.link(colleague, facility)
    fault = await service.fault(facility_id=facility)
    for n in range(3):
        reply = await _write(service, fault, f"Meddelande {n}", service.as_(colleague))
        assert reply.status_code == 201 and reply.json()["mine"] is True
    mine = await service.http.get(f"/api/faults/{fault}/messages", headers=service.reporter)
    assert [m["mine"] for m in mine.json()["items"]] == [False] * 3  # the reporter's view

    url = f"/admin/api/faults/{fault}/messages"
    older = await service.http.get(f"{url}?limit=2", headers=_staff(service))
    page = older.json()
    assert [m["body"] for m in page["items"]] == ["Meddelande 2", "Meddelande 1"]
    assert await _unread(service) == {}
    assert (await _write(service, fault, "Och en till", service.as_(colleague))).status_code == 201
    cursor = {"limit": 2, "cursor": page["next_cursor"]}
    rest = await service.http.get(url, params=cursor, headers=_staff(service))
    assert [m["body"] for m in rest.json()["items"]] == ["Meddelande 0"]
    assert rest.json()["next_cursor"] is None
    assert await _unread(service) == {fault: 1}  # an older page is not where the news is


async def test_messages_at_the_same_moment_are_all_counted(service: Service) -> None:
    fault = await service.fault()
    replies = await asyncio.gather(*(_write(service, fault, f"nr {n}") for n in range(10)))
    assert [r.status_code for r in replies] == [201] * 10
    assert await _unread(service) == {fault: 10}
    assert (await service.get(fault)).unread_customer_messages == 10


async def _add_photo(
    service: Service, path: str, headers: dict[str, str], photo: bytes | None = None
) -> httpx.Response:
    files = {"photo": ("bild.jpg", photo or picture("JPEG", (40, 30)), "image/jpeg")}
    return await service.http.post(path, files=files, headers=headers)


async def test_photos_on_messages_are_stripped_and_a_staff_notes_photo_stays_with_staff(
    service: Service,
) -> None:
    fault, staff = await service.fault(), _staff(service)
    message = (await _write(service, fault, "Så här ser det ut")).json()["id"]
    added = await _add_photo(
        service, f"/api/faults/{fault}/messages/{message}/photos", service.reporter, phone_photo()
    )
    assert added.status_code == 201, added.text
    photo = added.json()["id"]
    [shown] = (
        await service.http.get(f"/api/faults/{fault}/messages", headers=service.reporter)
    ).json()["items"]
    assert [p["id"] for p in shown["photos"]] == [photo]
    report = await service.http.get(f"/api/faults/{fault}", headers=service.reporter)
    assert report.json()["photos"] == []  # the report's own photos are the report's
    served = await service.http.get(f"/api/faults/{fault}/photos/{photo}", headers=service.reporter)
    assert served.status_code == 200
    assert_no_metadata(served.content)

    note = (await _answer(service, fault, "Jämför med förra året", internal=True)).json()["id"]
    url = f"/admin/api/faults/{fault}/messages/{note}/photos"
    secret = (await _add_photo(service, url, staff)).json()["id"]
    hidden = await service.http.get(
        f"/api/faults/{fault}/photos/{secret}", headers=service.reporter
    )
    assert refused(hidden, 404, "not_found")
    seen = await service.http.get(f"/admin/api/faults/{fault}/photos/{secret}", headers=staff)
    assert seen.status_code == 200

    # Only the author adds photos to a message, and no more than to a report.
    others = f"/admin/api/faults/{fault}/messages/{message}/photos"
    assert refused(await _add_photo(service, others, staff), 404, "not_found")
    colleagues = await _add_photo(service, url.removeprefix("/admin"), service.reporter)
    assert refused(colleagues, 404, "not_found")
    for _ in range(4):
        assert (await _add_photo(service, url, staff)).status_code == 201
    assert refused(await _add_photo(service, url, staff), 409, "too_many_photos")
    assert await service.stored(fault) == 6


# Bodies that are not a message, each with the answer it gets.
BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("empty", b'{"body": ""}', 422, "invalid_request"),
    ("blank", b'{"body": " \\n\\t "}', 422, "invalid_request"),
    ("too-long", json.dumps({"body": "x" * 4001}).encode(), 422, "invalid_request"),
    ("a-megabyte", json.dumps({"body": "å" * 1_000_000}).encode(), 422, "invalid_request"),
    ("nul", b'{"body": "a\\u0000b"}', 422, "invalid_request"),
    ("escape", b'{"body": "\\u001b[2J"}', 422, "invalid_request"),
    ("lone-surrogate", b'{"body": "\\ud800"}', 422, "invalid_request"),
    ("not-utf8", b'{"body": "\xff\xfe"}', 400, "bad_request"),
    ("not-json", b"body=hej", 422, "invalid_request"),
    ("a-list", b'["hej"]', 422, "invalid_request"),
    ("a-number", b'{"body": 42}', 422, "invalid_request"),
    ("internal", b'{"body": "hej", "internal": true}', 422, "invalid_request"),
    ("extra", b'{"body": "hej", "author_id": "staff-1"}', 422, "invalid_request"),
    ("nothing", b"", 422, "invalid_request"),
]


async def _nothing_changed(service: Service, *faults: UUID) -> None:
    assert await service.rows(FaultMessage) == 0
    assert await service.rows(FaultPhoto) == 0
    assert await _posted(service) == []
    assert [(await service.get(f)).unread_customer_messages for f in faults] == [0] * len(faults)


async def test_another_accounts_unknown_or_malformed_faults_and_bad_bodies_get_json_4xx(
    service: Service,
) -> None:
    """The isolation of every conversation route, and that nothing was written."""
    mine, stranger = await service.fault(), uuid4()
    theirs = await service.fault(account_id=stranger)
    others = service.as_(stranger)
    jpeg = {"photo": ("a.jpg", picture("JPEG"), "image/jpeg")}
    no_such = [str(uuid4()), "not-a-uuid", "1%20OR%201=1", "%00", "x" * 5000, str(theirs)]

    for fault in no_such:
        base = f"/api/faults/{fault}/messages"
        checks: list[Any] = [
            service.http.get(base, headers=service.reporter),
            _write(service, fault, "hej"),
            service.http.post(f"{base}/{uuid4()}/photos", files=jpeg, headers=service.reporter),
        ]
        if fault != str(theirs):  # staff see every fault; the others exist for no one
            checks += [
                service.http.get(f"/admin{base}", headers=_staff(service)),
                service.http.post(f"/admin{base}", json={"body": "x"}, headers=_staff(service)),
            ]
        for reply in await asyncio.gather(*checks):
            assert refused(reply, 404, "not_found"), fault
    await _nothing_changed(service, mine, theirs)

    # Another account's message and photo, by their real ids, are as unknown as any.
    their_message = (await _write(service, theirs, "vår", others)).json()["id"]
    photo_url = f"/api/faults/{theirs}/messages/{their_message}/photos"
    their_photo = (await _add_photo(service, photo_url, others)).json()["id"]
    async with asyncio.TaskGroup() as group:
        replies = [
            group.create_task(_add_photo(service, photo_url, service.reporter)),
            group.create_task(
                service.http.get(
                    f"/api/faults/{theirs}/photos/{their_photo}", headers=service.reporter
                )
            ),
            group.create_task(
                service.http.get(
                    f"/api/faults/{mine}/photos/{their_photo}", headers=service.reporter
                )
            ),
            group.create_task(
                _add_photo(service, f"/api/faults/{mine}/messages/{their_message}/photos", others)
            ),
        ]
    for task in replies:
        assert refused(task.result(), 404, "not_found")

    for name, raw, status, error in BAD_BODIES:
        for path, headers in [
            (f"/api/faults/{mine}/messages", service.reporter),
            (f"/admin/api/faults/{mine}/messages", _staff(service)),
        ]:
            if name == "internal" and path.startswith("/admin"):
                continue  # staff may
            content_type = {"Content-Type": "application/json"}
            reply = await service.http.post(path, content=raw, headers={**headers, **content_type})
            assert refused(reply, status, error), (name, path)

    # Staff routes are staff's, the customer's the customer's.
    forbidden = [
        await service.http.get(f"/admin/api/faults/{mine}/messages", headers=service.reporter),
        await _write(service, mine, "hej", _staff(service)),
        await service.http.get(f"/api/faults/{mine}/messages"),
    ]
    assert [r.status_code for r in forbidden] == [403, 403, 401]
    assert all(set(r.json()) == {"error", "message", "details"} for r in forbidden)

    assert await service.rows(FaultMessage) == 1  # the stranger's own, and nothing more
    assert [e.fault_id for e in await _posted(service)] == [theirs]
    assert (await service.get(mine)).unread_customer_messages == 0


async def test_a_rejected_fault_hidden_from_customers_has_no_conversation_for_them(
    service: Service,
) -> None:
    """Even for the one who wrote in it: the rule is the fault's, as for /api/faults/{id}."""
    fault = await service.fault()
    message = (await _write(service, fault, "Hallå?")).json()["id"]
    await service.settings(hide_cancelled=True)
    rejected = await service.http.post(
        f"/admin/api/faults/{fault}/reject", json={"reason": "Dubblett"}, headers=_staff(service)
    )
    assert rejected.status_code == 200, rejected.text
    photo_url = f"/api/faults/{fault}/messages/{message}/photos"
    for reply in [
        await service.http.get(f"/api/faults/{fault}/messages", headers=service.reporter),
        await _write(service, fault, "Varför?"),
        await _add_photo(service, photo_url, service.reporter),
    ]:
        assert refused(reply, 404, "not_found")
    assert await service.rows(FaultMessage) == 1 and await service.rows(FaultPhoto) == 0
    assert len(await _posted(service)) == 1
