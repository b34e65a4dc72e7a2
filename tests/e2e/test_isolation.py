"""A customer sees only what is linked to its account: every route, tried with others' ids."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.helpers import Staff, bearer, eventually, image, login

pytestmark = pytest.mark.e2e

HOUR = timedelta(hours=1)

# Two customers as `_tenant` sets them up.
Tenants = tuple[dict[str, Any], dict[str, Any]]

STAFF_ROUTES = [
    ("GET", "/admin/api/staff"),
    ("POST", "/admin/api/staff"),
    ("PATCH", "/admin/api/staff/{uuid}"),
    ("DELETE", "/admin/api/staff/{uuid}"),
    ("GET", "/admin/api/license"),
    ("PUT", "/admin/api/license"),
    ("GET", "/admin/api/accounts"),
    ("POST", "/admin/api/accounts"),
    ("GET", "/admin/api/accounts/{uuid}"),
    ("PATCH", "/admin/api/accounts/{uuid}"),
    ("DELETE", "/admin/api/accounts/{uuid}"),
    ("POST", "/admin/api/accounts/{uuid}/password"),
    ("GET", "/admin/api/accounts/{uuid}/facilities"),
    ("PUT", "/admin/api/accounts/{uuid}/facilities"),
    ("GET", "/admin/api/accounts/{uuid}/projects"),
    ("PUT", "/admin/api/accounts/{uuid}/projects"),
    ("GET", "/admin/api/settings"),
    ("PUT", "/admin/api/settings"),
    ("GET", "/admin/api/about"),
    ("GET", "/admin/api/faults"),
    ("POST", "/admin/api/faults/{uuid}/create-order"),
    ("POST", "/admin/api/faults/{uuid}/reject"),
    ("GET", "/admin/api/customers"),
    ("POST", "/admin/api/customers"),
    ("GET", "/admin/api/customers/{uuid}"),
    ("PATCH", "/admin/api/customers/{uuid}"),
    ("GET", "/admin/api/facilities"),
    ("POST", "/admin/api/facilities"),
    ("GET", "/admin/api/facilities/{uuid}"),
    ("PATCH", "/admin/api/facilities/{uuid}"),
    ("GET", "/admin/api/projects"),
    ("POST", "/admin/api/projects"),
    ("GET", "/admin/api/projects/{uuid}"),
    ("PATCH", "/admin/api/projects/{uuid}"),
    ("GET", "/admin/api/orders"),
    ("POST", "/admin/api/orders"),
    ("GET", "/admin/api/orders/{uuid}"),
    ("PATCH", "/admin/api/orders/{uuid}"),
    ("GET", "/admin/api/faults/{uuid}"),
    ("GET", "/admin/api/faults/{uuid}/photos/{uuid}"),
    ("GET", "/admin/api/faults/{uuid}/messages"),
    ("POST", "/admin/api/faults/{uuid}/messages"),
    ("POST", "/admin/api/faults/{uuid}/messages/{uuid}/photos"),
    ("GET", "/admin/api/orders/{uuid}/timeline"),
]


def _tenant(staff: Staff, http: httpx.Client, name: str) -> dict[str, Any]:
    """A customer with a facility, a project, an Order direkt account, a fault and its order."""
    customer = staff.customer(name)
    facility = staff.facility(customer["id"], f"Anläggning {name}")
    project = http.post(
        "/admin/api/projects",
        json={"customer_id": customer["id"], "name": f"Projekt {name}"},
        headers=staff.h,
    ).json()
    account = staff.account(customer["id"], order_direct=True)
    staff.link(account["id"], [facility["id"]])
    staff.link_projects(account["id"], [project["id"]])
    h = bearer(login(http, account["username"], account["password"]))
    fault = staff.report(h, facility["id"], f"Fel hos {name}")
    order_id = eventually(
        lambda: http.get(f"/api/faults/{fault['id']}", headers=h).json().get("order_id"),
        what="order created",
    )
    photo = http.post(
        f"/api/faults/{fault['id']}/photos",
        files={"photo": ("p.png", image(), "image/png")},
        headers=h,
    ).json()
    message = http.post(
        f"/api/faults/{fault['id']}/messages", json={"body": f"Fråga från {name}"}, headers=h
    )
    assert message.status_code == 201, message.text
    return {
        "h": h,
        "facility": facility["id"],
        "project": project["id"],
        "fault": fault["id"],
        "order": order_id,
        "account": account["id"],
        "photo": photo["id"],
        "message": message.json()["id"],
    }


@pytest.fixture(scope="module")
def tenants(staff: Staff, http: httpx.Client) -> Tenants:
    return _tenant(staff, http, "Kund Ett AB"), _tenant(staff, http, "Kund Två AB")


def test_each_customer_sees_its_own_things(http: httpx.Client, tenants: Tenants) -> None:
    for me in tenants:
        h = me["h"]
        assert [f["id"] for f in http.get("/api/facilities", headers=h).json()["items"]] == [
            me["facility"]
        ]
        assert [p["id"] for p in http.get("/api/projects", headers=h).json()["items"]] == [
            me["project"]
        ]
        assert [f["id"] for f in http.get("/api/faults", headers=h).json()["items"]] == [
            me["fault"]
        ]
        assert [o["id"] for o in http.get("/api/orders", headers=h).json()["items"]] == [
            me["order"]
        ]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/faults/{fault}", None),
        ("GET", "/api/orders/{order}", None),
        ("GET", "/api/projects/{project}", None),
        ("GET", "/api/faults/{fault}/photos/{photo}", None),
        ("POST", "/api/faults/{fault}/photos", None),
        ("GET", "/api/faults/{fault}/messages", None),
        ("POST", "/api/faults/{fault}/messages", {"body": "Intrång"}),
        ("POST", "/api/faults/{fault}/messages/{message}/photos", None),
        ("GET", "/api/orders/{order}/timeline", None),
        ("POST", "/api/faults", {"facility_id": "{facility}", "description": "Intrång"}),
        ("POST", "/api/faults", {"project_id": "{project}", "description": "Intrång"}),
    ],
)
def test_another_customers_ids_answer_404_exactly_like_unknown_ones(
    http: httpx.Client, tenants: Tenants, method: str, path: str, body: dict[str, Any] | None
) -> None:
    me, other = tenants

    def fill(value: Any, ids: dict[str, Any]) -> Any:
        if isinstance(value, dict):
            return {k: fill(v, ids) for k, v in value.items()}
        return value.format(**ids) if isinstance(value, str) else value

    names = ("fault", "order", "project", "facility", "photo", "message")
    unknown = {k: str(uuid.uuid4()) for k in names}
    files = {"photo": ("p.png", image(), "image/png")} if path.endswith("/photos") else None
    answers = [
        http.request(method, fill(path, ids), json=fill(body, ids), files=files, headers=me["h"])
        for ids in (other, unknown)
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json()["error"] == answers[1].json()["error"] == "not_found"
    faults = http.get("/api/faults", headers=other["h"]).json()["items"]
    assert [f["id"] for f in faults] == [other["fault"]]


def test_a_photo_is_reached_only_through_its_own_fault(
    http: httpx.Client, tenants: Tenants
) -> None:
    me, other = tenants
    mine = f"/api/faults/{me['fault']}/photos/{me['photo']}"
    assert http.get(mine, headers=me["h"]).status_code == 200
    crossed = f"/api/faults/{me['fault']}/photos/{other['photo']}"
    assert http.get(crossed, headers=me["h"]).status_code == 404


def test_a_message_photo_goes_only_to_a_message_of_the_same_fault(
    http: httpx.Client, tenants: Tenants
) -> None:
    me, other = tenants
    files = {"photo": ("p.png", image(), "image/png")}
    crossed = f"/api/faults/{me['fault']}/messages/{other['message']}/photos"
    reply = http.post(crossed, files=files, headers=me["h"])
    assert reply.status_code == 404 and reply.json()["error"] == "not_found"
    mine = f"/api/faults/{me['fault']}/messages/{me['message']}/photos"
    assert http.post(mine, files=files, headers=me["h"]).status_code == 201


def test_the_conversation_holds_only_the_faults_own_messages(
    http: httpx.Client, tenants: Tenants
) -> None:
    for me in tenants:
        found = http.get(f"/api/faults/{me['fault']}/messages", headers=me["h"])
        assert [m["id"] for m in found.json()["items"]] == [me["message"]]


def test_the_next_visits_are_only_the_accounts_own(
    http: httpx.Client, staff: Staff, tenants: Tenants
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    for me in tenants:
        planned = {"planned_start": start.isoformat(), "planned_end": (start + HOUR).isoformat()}
        reply = http.patch(f"/admin/api/orders/{me['order']}", json=planned, headers=staff.h)
        assert reply.status_code == 200, reply.text
    for me in tenants:

        def listed(h: dict[str, str] = me["h"]) -> list[dict[str, Any]] | None:
            reply = http.get("/api/orders/upcoming", headers=h)
            items: list[dict[str, Any]] = reply.json()["items"]
            return items or None

        assert {o["id"] for o in eventually(listed, what="visit listed")} == {me["order"]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/admin/api/faults/{uuid}/messages", None),
        ("POST", "/admin/api/faults/{uuid}/messages", {"body": "Okänt fel"}),
        ("GET", "/admin/api/orders/{uuid}/timeline", None),
    ],
)
def test_staff_asking_for_an_unknown_id_get_404_json(
    http: httpx.Client, staff: Staff, method: str, path: str, body: dict[str, Any] | None
) -> None:
    reply = http.request(
        method, path.replace("{uuid}", str(uuid.uuid4())), json=body, headers=staff.h
    )
    assert reply.status_code == 404, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json()["error"] == "not_found"


def test_statistics_calendar_and_feed_hold_only_the_accounts_own_orders(
    http: httpx.Client, staff: Staff, tenants: Tenants
) -> None:
    me, other = tenants
    staff.settings(show_statistics=True, show_calendar=True)
    try:
        # The setting reaches the orders service through Kafka a moment later.
        stats = eventually(
            lambda: (
                (r := http.get("/api/statistics", headers=me["h"])).status_code == 200 and r.json()
            ),
            what="statistics on",
        )
        assert [o["id"] for o in stats["items"]] == [me["order"]]
        assert [f["facility_id"] for f in stats["by_facility"]] == [me["facility"]]
        feed = eventually(
            lambda: http.get("/api/me", headers=me["h"]).json()["calendar_url"], what="feed"
        )
        other_feed = http.get("/api/me", headers=other["h"]).json()["calendar_url"]
        assert feed != other_feed
        forged = http.get("/api/calendar.ics", params={"token": "x" * 43})
        assert forged.status_code == 404
    finally:
        staff.settings(show_statistics=False, show_calendar=False)


def test_list_filters_cannot_reach_another_customers_orders(
    http: httpx.Client, tenants: Tenants
) -> None:
    me, other = tenants
    reply = http.get("/api/orders", params={"facility_id": other["facility"]}, headers=me["h"])
    assert reply.status_code == 200 and reply.json()["items"] == []


@pytest.mark.parametrize(("method", "path"), STAFF_ROUTES)
def test_customer_tokens_open_no_staff_route(
    http: httpx.Client, tenants: Tenants, method: str, path: str
) -> None:
    reply = http.request(
        method, path.replace("{uuid}", str(uuid.uuid4())), json={}, headers=tenants[0]["h"]
    )
    assert reply.status_code in (401, 403), reply.text
