"""QR labels for a customer's facilities, and the report form a label leads to."""

import re
from typing import Any

import httpx
import pytest
import segno
from gateway_fakes import CSRF, FACILITY, FakeServices

from kundonline_gateway.pages.qr import qr_svg

CUSTOMER = "0c0ffee0-0000-4000-8000-000000000001"
OTHER = "f0000000-0000-4000-8000-0000000000ff"
# Plain http: an https address would make the fixtures' cookies the __Host- kind.
PUBLIC = "http://portal.example.se"


class WithAddress(FakeServices):
    """Services whose settings give the portal's public address."""

    async def public_url(self) -> str | None:
        return PUBLIC


def facility(id_: str, name: str, ref: str) -> dict[str, Any]:
    return {"id": id_, "customer_id": CUSTOMER, "name": name, "reference_number": ref}


def dark_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules segno's one path draws: `M x y.5` starts a row, `m dx dy` moves on
    from the end of the last line, `h n` draws n modules."""
    cells: set[tuple[int, int]] = set()
    x = y = 0.0
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None
    for op, args in re.findall(r"([MmHh])([-\d. ]+)", path.group(1)):
        numbers = [float(n) for n in args.split()]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            cells.update((int(x) + i, int(y)) for i in range(int(numbers[0])))
            x += numbers[0]
    return cells


def decodes_to(svg: str, text: str) -> bool:
    """The code draws exactly the modules of `text` encoded as the labels encode it."""
    expected = segno.make(text, error="m", micro=False)
    border = 4
    wanted = {
        (c + border, r + border)
        for r, row in enumerate(expected.matrix)
        for c, dark in enumerate(row)
        if dark
    }
    return dark_modules(svg) == wanted


def test_a_qr_code_is_an_svg_of_the_url_with_a_name_and_no_style_attribute() -> None:
    url = f"{PUBLIC}/faults/new?facility={FACILITY}"
    svg = str(qr_svg(url, 'Hiss "4" <Ekbacken>'))
    assert svg.startswith('<svg role="img" aria-label="Hiss &#34;4&#34; &lt;Ekbacken&gt;"')
    assert "style=" not in svg and "<script" not in svg
    assert decodes_to(svg, url)
    assert not decodes_to(svg, f"{PUBLIC}/faults/new?facility={OTHER}")


@pytest.fixture
def services() -> FakeServices:
    return WithAddress()


async def test_the_label_sheet_has_a_code_to_each_facilitys_report_form(
    staff: httpx.AsyncClient, services: FakeServices
) -> None:
    services.on("GET", f"/admin/api/customers/{CUSTOMER}", {"id": CUSTOMER, "name": "Ekbacken"})
    services.on("GET", "/admin/api/faults", {"items": [], "next_cursor": None, "total": 0})
    first = {"items": [facility(FACILITY, "Undercentral <2>", "EK-2")], "next_cursor": "n"}
    second = {"items": [facility(OTHER, "Hiss Ekbacken 4", "EK-4")], "next_cursor": None}
    services.on(
        "GET",
        "/admin/api/facilities",
        lambda kw: (200, second if "cursor" in kw["params"] else first),
    )
    reply = await staff.get(f"/admin/customers/{CUSTOMER}/labels")
    assert reply.status_code == 200, reply.headers.get("location")
    html = reply.text
    assert "Undercentral &lt;2&gt;" in html and "EK-2" in html and "EK-4" in html
    codes = re.findall(r"<svg .*?</svg>", html, re.S)
    assert len(codes) == 2
    assert decodes_to(codes[0], f"{PUBLIC}/faults/new?facility={FACILITY}")
    assert decodes_to(codes[1], f"{PUBLIC}/faults/new?facility={OTHER}")
    asked = services.made("GET", "/admin/api/facilities")[0].kw["params"]
    assert asked == {"limit": 200, "customer_id": CUSTOMER, "active": "true"}


async def test_without_a_public_address_the_codes_lead_to_the_address_the_page_was_asked_at(
    staff: httpx.AsyncClient,
) -> None:
    plain = FakeServices()
    plain.on("GET", f"/admin/api/customers/{CUSTOMER}", {"id": CUSTOMER, "name": "Ekbacken"})
    plain.on("GET", "/admin/api/faults", {"items": [], "next_cursor": None, "total": 0})
    page = {"items": [facility(FACILITY, "Undercentral", "EK-2")], "next_cursor": None}
    plain.on("GET", "/admin/api/facilities", page)
    staff._transport.app.state.clients = plain  # type: ignore[attr-defined]  # the test's app
    (code,) = re.findall(
        r"<svg .*?</svg>", (await staff.get(f"/admin/customers/{CUSTOMER}/labels")).text, re.S
    )
    assert decodes_to(code, f"http://portal/faults/new?facility={FACILITY}")


async def test_the_customer_page_links_to_its_labels(
    staff: httpx.AsyncClient, services: FakeServices
) -> None:
    services.on("GET", f"/admin/api/customers/{CUSTOMER}", {"id": CUSTOMER, "name": "Ekbacken"})
    services.on("GET", "/admin/api/faults", {"items": [], "next_cursor": None, "total": 0})
    html = (await staff.get(f"/admin/customers/{CUSTOMER}")).text
    assert f'<a href="/admin/customers/{CUSTOMER}/labels">QR-etiketter</a>' in html


async def test_an_unknown_customer_has_no_label_sheet(
    staff: httpx.AsyncClient, services: FakeServices
) -> None:
    services.on("GET", "/admin/api/faults", {"items": [], "next_cursor": None, "total": 0})
    reply = await staff.get(f"/admin/customers/{CUSTOMER}/labels")
    assert reply.status_code == 404


async def test_a_labels_link_opens_the_report_form_with_its_facility_chosen(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    reply = await customer.get("/faults/new", params={"facility": FACILITY})
    assert reply.status_code == 200
    assert f'<option value="facility:{FACILITY}" selected>' in reply.text


@pytest.mark.parametrize("facility", [OTHER, "inte-ett-id"])
async def test_a_facility_not_linked_to_the_account_is_not_found(
    customer: httpx.AsyncClient, portal: FakeServices, facility: str
) -> None:
    reply = await customer.get("/faults/new", params={"facility": facility})
    assert reply.status_code == 404
    assert "Sidan finns inte." in reply.text and "<form" not in reply.text.split("<main")[1]


async def test_a_visitor_scanning_a_label_logs_in_and_comes_back_to_the_same_form(
    visitor: httpx.AsyncClient, services: FakeServices
) -> None:
    wanted = f"/faults/new?facility={FACILITY}"
    reply = await visitor.get(wanted)
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/login?next=/faults/new%3Ffacility%3D{FACILITY}"
    login = await visitor.get(reply.headers["location"])
    assert f'name="next" value="{wanted}"' in login.text
    services.on("POST", "/internal/login", {"token": "customer-token", "expires_in": 1800})
    form = {"csrf_token": CSRF, "username": "eva", "password": "x" * 10, "next": wanted}
    reply = await visitor.post("/login", data=form)
    assert reply.headers["location"] == wanted


@pytest.mark.parametrize("elsewhere", ["https://evil.example/faults/new", "//evil.example/x"])
async def test_the_login_follows_only_a_path_of_its_own_site(
    visitor: httpx.AsyncClient, services: FakeServices, elsewhere: str
) -> None:
    services.on("POST", "/internal/login", {"token": "customer-token", "expires_in": 1800})
    form = {"csrf_token": CSRF, "username": "eva", "password": "x" * 10, "next": elsewhere}
    reply = await visitor.post("/login", data=form)
    assert reply.headers["location"] == "/"
