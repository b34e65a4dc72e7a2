"""The rating page reached from a completion mail, staff's ratings, staff's order CSV, and the
notice of photos left out, against fake services."""

import csv
import io

import httpx
import pytest
from gateway_fakes import ADMIN, FACILITY, FAULT, ORDER, FakeServices, order, refusal
from test_conversation_pages_unit import MESSAGES, fault, listing

from kundonline_gateway.pages.csv_export import DIALECTS, FORMULA_STARTS, guard, lines

LINK = f"/internal/ratings/{ORDER}"
TOKEN = "signed.link.token.abc"
CUSTOMER_ID = "0c0ffee0-0000-4000-8000-000000000001"


def info(**fields: object) -> dict[str, object]:
    return {
        "order_id": ORDER,
        "order_number": 1042,
        "facility_id": FACILITY,
        "project_id": None,
        "place_name": "Undercentral <Ekbacken>",
        "rated": False,
        **fields,
    }


@pytest.fixture
def rating(services: FakeServices) -> FakeServices:
    services.on("GET", LINK, info())
    return services


async def test_opening_the_link_shows_the_form_with_the_mails_score_and_changes_nothing(
    visitor: httpx.AsyncClient, rating: FakeServices
) -> None:
    reply = await visitor.get(f"/rating/{ORDER}", params={"token": TOKEN, "score": "4"})
    assert reply.status_code == 200
    html = reply.text
    assert "Hur nöjd är du med arbetet på order 1042?" in html
    assert "Undercentral &lt;Ekbacken&gt;" in html
    assert 'id="score-4" name="score" value="4" required checked' in html
    assert f'name="token" value="{TOKEN}"' in html
    assert 'name="csrf_token"' not in html  # the signed link is the form's only credential
    assert rating.made("GET", LINK)[0].kw["params"] == {"token": TOKEN}
    assert not [c for c in rating.calls if c.method == "POST"]


async def test_sending_the_form_rates_once_and_thanks(
    visitor: httpx.AsyncClient, rating: FakeServices
) -> None:
    rating.on("POST", LINK, {"order_id": ORDER}, status=201)
    form = {"token": TOKEN, "score": "5", "comment": "  Bra jobbat <3  "}
    reply = await visitor.post(f"/rating/{ORDER}", data=form)
    assert reply.status_code == 200
    assert "Tack för ditt betyg" in reply.text and "5 av 5" in reply.text
    assert rating.made("POST", LINK)[0].json == {
        "token": TOKEN,
        "score": 5,
        "comment": "Bra jobbat <3",
    }


async def test_a_second_rating_is_refused_with_a_page_that_says_so(
    visitor: httpx.AsyncClient, rating: FakeServices
) -> None:
    rating.on("POST", LINK, refusal(409, "already_rated"))
    reply = await visitor.post(f"/rating/{ORDER}", data={"token": TOKEN, "score": "3"})
    assert reply.status_code == 409
    assert "Ordern är redan betygsatt." in reply.text
    rating.on("GET", LINK, info(rated=True))
    again = await visitor.get(f"/rating/{ORDER}", params={"token": TOKEN, "score": "3"})
    assert again.status_code == 409 and "Redan betygsatt" in again.text


@pytest.mark.parametrize(
    ("status", "code", "said"),
    [
        (403, "rating_link_invalid", "Betygslänken är inte giltig."),
        (410, "rating_link_expired", "Betygslänken gäller inte längre."),
        (409, "not_completed", "Ordern är inte slutförd"),
        (422, "invalid_request", "Betygslänken är inte giltig."),
    ],
)
async def test_a_link_the_service_refuses_is_a_clear_page_never_an_error(
    visitor: httpx.AsyncClient, services: FakeServices, status: int, code: str, said: str
) -> None:
    details = [{"loc": ["body", "token"], "msg": "too long", "type": "string_too_long"}]
    services.on("GET", LINK, refusal(status, code, details))
    services.on("POST", LINK, refusal(status, code, details))
    shown = await visitor.get(f"/rating/{ORDER}", params={"token": "forged"})
    sent = await visitor.post(f"/rating/{ORDER}", data={"token": "forged", "score": "5"})
    for reply in (shown, sent):
        assert reply.status_code == status
        assert said in reply.text


@pytest.mark.parametrize(
    ("status", "code", "said"),
    [
        (404, "ratings_disabled", "Sidan finns inte."),
        (404, "not_found", "Sidan finns inte."),
        (409, "conflict", "Tjänsten är inte tillgänglig just nu."),
        (400, "bad_request", "Tjänsten är inte tillgänglig just nu."),
        (422, "invalid_value", "Tjänsten är inte tillgänglig just nu."),
        (500, "internal_error", "Tjänsten är inte tillgänglig just nu."),
    ],
)
async def test_a_refusal_the_page_has_no_words_for_is_not_called_a_bad_link(
    visitor: httpx.AsyncClient, services: FakeServices, status: int, code: str, said: str
) -> None:
    services.on("GET", LINK, refusal(status, code))
    shown = await visitor.get(f"/rating/{ORDER}", params={"token": TOKEN})
    services.on("GET", LINK, info())
    services.on("POST", LINK, refusal(status, code))
    sent = await visitor.post(f"/rating/{ORDER}", data={"token": TOKEN, "score": "5"})
    for reply in (shown, sent):
        assert reply.status_code == (404 if status == 404 else 503)
        assert said in reply.text and "Betygslänken" not in reply.text


async def test_a_comment_the_service_refuses_is_said_beside_it_in_the_form(
    visitor: httpx.AsyncClient, rating: FakeServices
) -> None:
    details = [{"loc": ["body", "comment"], "msg": "too long", "type": "string_too_long"}]
    rating.on("POST", LINK, refusal(422, "invalid_request", details))
    form = {"token": TOKEN, "score": "4", "comment": "Lång kommentar"}
    reply = await visitor.post(f"/rating/{ORDER}", data=form)
    assert reply.status_code == 422
    assert 'class="field-error">Skriv högst 2000 tecken.' in reply.text
    assert "Lång kommentar" in reply.text and 'value="4" required checked' in reply.text


async def test_a_missing_score_is_said_beside_the_choice_and_nothing_is_sent(
    visitor: httpx.AsyncClient, rating: FakeServices
) -> None:
    reply = await visitor.post(f"/rating/{ORDER}", data={"token": TOKEN, "score": "9"})
    assert reply.status_code == 422
    assert '<small id="score-error" class="field-error">Välj ett betyg från 1 till 5.' in reply.text
    assert not rating.made("POST", LINK)


async def test_a_malformed_order_id_is_not_found(visitor: httpx.AsyncClient) -> None:
    reply = await visitor.get("/rating/not-an-id", params={"token": TOKEN})
    assert reply.status_code == 404


async def test_staff_see_ratings_with_count_average_and_the_comment_escaped(
    staff: httpx.AsyncClient, services: FakeServices
) -> None:
    item = {
        "order_id": ORDER,
        "order_number": 1042,
        "customer_id": CUSTOMER_ID,
        "facility_id": FACILITY,
        "project_id": None,
        "account_id": ADMIN.subject,
        "score": 4,
        "comment": "<script>x</script>",
        "rated_at": "2026-03-01T14:37:00+00:00",
    }
    found = {"count": 2, "average": 4.5, "items": [item], "next_cursor": None}
    services.on("GET", "/admin/api/ratings", found)
    services.on("GET", "/admin/api/faults", {"items": [], "next_cursor": None, "total": 0})
    services.on("GET", "/admin/api/customers", {"items": [], "next_cursor": None})
    services.on("GET", "/admin/api/facilities", {"items": [], "next_cursor": None})
    reply = await staff.get("/admin/ratings", params={"customer_id": CUSTOMER_ID})
    assert reply.status_code == 200
    html = reply.text
    assert "2 betyg, i snitt 4,5 av 5" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    call = services.made("GET", "/admin/api/ratings")[0]
    assert call.kw["params"] == {"limit": 50, "customer_id": CUSTOMER_ID}


async def test_staff_download_the_filtered_orders_as_csv_for_excel(
    staff: httpx.AsyncClient, services: FakeServices
) -> None:
    first = {"items": [order(7, value="1234.50", customer_id=CUSTOMER_ID)], "next_cursor": "n"}
    second = {"items": [order(8, value="1", customer_id=CUSTOMER_ID)], "next_cursor": None}
    services.on("GET", "/admin/api/faults", {"items": [], "next_cursor": None, "total": 0})
    services.on(
        "GET",
        "/admin/api/orders",
        lambda kw: (200, second if kw["params"].get("cursor") else first),
    )
    services.on("GET", f"/admin/api/customers/{CUSTOMER_ID}", {"name": "=Ekbacken AB"})
    services.on("GET", f"/admin/api/facilities/{FACILITY}", {"name": "Hiss"})
    reply = await staff.get("/admin/orders.csv", params={"status": "planned"})
    assert reply.status_code == 200
    body = reply.content.decode()
    assert body.startswith("\ufeffNummer;Skapad;")
    assert body.rstrip().endswith(";'=Ekbacken AB")  # a formula is written as text
    lines = body.strip().split("\r\n")
    assert len(lines) == 3 and lines[1].startswith("7;") and ";1234,50;" in lines[1]
    calls = services.made("GET", "/admin/api/orders")
    assert all(c.kw["params"]["status"] == "planned" for c in calls)


async def test_photos_left_out_are_told_on_the_next_page_and_only_known_reasons(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", f"/api/faults/{FAULT}", fault())
    portal.on("GET", MESSAGES, listing())
    query = (
        "sent=message&left_out=invalid_photo%3Akatt.gif&left_out=photo_too_large%3A<b>.png"
        "&left_out=made_up%3Anothing"
    )
    html = (await customer.get(f"/faults/{FAULT}?{query}")).text
    assert "Bilden “katt.gif” kom inte med: den är inte en JPEG- eller PNG-bild." in html
    assert "Bilden “&lt;b&gt;.png” kom inte med: den är för stor." in html
    assert html.count('<p class="flash error"') == 2  # nothing of the made-up reason


async def test_switching_language_keeps_the_link_so_the_form_opens_again(
    visitor: httpx.AsyncClient, rating: FakeServices
) -> None:
    html = (await visitor.get(f"/rating/{ORDER}", params={"token": TOKEN, "score": "2"})).text
    switch = html.split('href="/language?lang=en&amp;next=')[1].split('"')[0]
    reply = await visitor.get(f"/language?lang=en&next={switch}")
    assert reply.headers["location"] == f"/rating/{ORDER}?token={TOKEN}&score=2"
    english = await visitor.get(reply.headers["location"])
    assert "How satisfied are you with the work on order 1042?" in english.text


@pytest.mark.parametrize("language", ["sv", "en"])
def test_no_cell_becomes_a_formula_in_an_excel_of_either_locale(language: str) -> None:
    """Excel splits a file at its own locale's separator, whichever wrote it."""
    texts = ["Läcker;=1+1;", "Läcker,=1+1,", 'a;"=1+1"', "x,@SUM(A1)", "-2+3", "\t=1", "ok; fine"]
    written = lines([[guard(t) for t in texts]], DIALECTS[language])
    for separator in (";", ","):
        for row in csv.reader(io.StringIO(written), delimiter=separator):
            for cell in row:
                assert not cell.lstrip('"').startswith(FORMULA_STARTS), (separator, row)
    assert guard("ok; fine") == "ok; fine" and guard("1,5 m") == "1,5 m"  # plain text stays
