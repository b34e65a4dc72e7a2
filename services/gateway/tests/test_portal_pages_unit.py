"""The customer's pages rendered against fake services: what they show and what they send."""

import httpx
from gateway_fakes import (
    CSRF,
    CUSTOMER,
    FACILITY,
    FAULT,
    ORDER,
    PROJECT,
    FakeServices,
    order,
    refusal,
)


async def test_a_visitor_without_a_session_is_sent_to_log_in(visitor: httpx.AsyncClient) -> None:
    reply = await visitor.get("/orders")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=/orders"


async def test_the_order_list_shows_each_order_with_its_place_and_a_next_page(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    page = {"items": [order(1042)], "next_cursor": "nästa"}
    portal.on("GET", "/api/orders", page)
    reply = await customer.get("/orders", params={"status": "planned"})
    assert reply.status_code == 200
    html = reply.text
    assert f'<a href="/orders/{ORDER}">1042</a>' in html
    assert "Undercentral Ekbacken 2" in html and "Planerad" in html
    assert "Fläkten låter &lt;högt&gt;" in html  # what a customer typed is escaped
    assert "status=planned&amp;cursor=n%C3%A4sta" in html
    assert '<option value="planned" selected>' in html
    assert '<a href="/statistics"' in html and '<a href="/calendar"' not in html
    (asked,) = portal.made("GET", "/api/orders")
    assert asked.kw["params"] == {"limit": 25, "status": "planned"}
    assert asked.caller == CUSTOMER


async def test_filters_the_service_refuses_show_an_empty_list(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("GET", "/api/orders", refusal(422, "invalid_request"))
    reply = await customer.get("/orders", params={"from": "igår"})
    assert reply.status_code == 200
    assert "Inget att visa." in reply.text and 'value="igår"' not in reply.text


async def test_an_order_shows_what_the_service_gave_and_nothing_it_left_out(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    rows = [{"article": "Filter", "description": "F7", "quantity": "2", "unit_price": "1234.5"}]
    portal.on("GET", f"/api/orders/{ORDER}", order(7, rows=rows, value="2469.00"))
    html = (await customer.get(f"/orders/{ORDER}")).text
    assert "<h1>Order 7</h1>" in html
    assert "Undercentral Ekbacken 2" in html
    # Money as Swedish writes it, its spaces unbreakable.
    assert "1\xa0234,50\xa0kr" in html and "2\xa0469,00\xa0kr" in html
    assert "Utförd åtgärd" not in html  # absent from the answer: hidden from this account
    assert "Inköpspris" not in html


async def test_an_order_the_account_may_not_see_is_not_found(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    reply = await customer.get(f"/orders/{ORDER}")
    assert reply.status_code == 404
    assert "Sidan finns inte." in reply.text


async def test_a_report_goes_to_the_service_and_the_page_says_what_happens_next(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("POST", "/api/faults", {"id": FAULT, "next_step": "awaiting_handling"})
    form = {
        "csrf_token": CSRF,
        "request_key": "nyckel-1",
        "target": f"facility:{FACILITY}",
        "description": "Det droppar",
        "contact_name": "Eva",
        "contact_phone": "070-1",
        "contact_email": "",
    }
    reply = await customer.post("/faults/new", data=form)
    assert reply.status_code == 303
    assert reply.headers["location"] == f"/faults/{FAULT}?sent=queue"
    (sent,) = portal.made("POST", "/api/faults")
    assert sent.json == {
        "facility_id": FACILITY,
        "description": "Det droppar",
        "contact": {"name": "Eva", "phone": "070-1", "email": None},
    }
    assert sent.kw["headers"] == {"Idempotency-Key": "nyckel-1"}


async def test_a_report_without_the_csrf_token_is_refused_and_not_sent(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    for token in ({}, {"csrf_token": "forged"}):
        form = {"target": f"facility:{FACILITY}", "description": "CSRF", **token}
        assert (await customer.post("/faults/new", data=form)).status_code == 403
    assert portal.made("POST", "/api/faults") == []


async def test_a_report_form_shows_the_choice_missing_beside_its_field(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    form = {"csrf_token": CSRF, "target": "", "description": "Det droppar"}
    reply = await customer.post("/faults/new", data=form)
    assert reply.status_code == 422
    assert '<small id="target-error"' in reply.text
    assert ">Det droppar</textarea>" in reply.text  # what was typed stays
    assert portal.made("POST", "/api/faults") == []


async def test_what_the_service_refuses_in_a_report_is_shown_beside_its_field(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    details = [
        {"loc": ["body", "description"], "msg": "too short", "type": "string_too_short"},
        {"loc": ["body", "contact", "email"], "msg": "not an e-mail", "type": "value_error"},
    ]
    portal.on("POST", "/api/faults", refusal(422, "invalid_request", details))
    form = {
        "csrf_token": CSRF,
        "target": f"project:{PROJECT}",
        "description": " ",
        "contact_email": "kalle@",
    }
    reply = await customer.post("/faults/new", data=form)
    assert reply.status_code == 422
    html = reply.text
    assert 'role="alert">Kontrollera uppgifterna.</p>' in html
    assert '<small id="description-error" class="field-error">Ange en beskrivning' in html
    assert (
        '<small id="contact_email-error" class="field-error">Ange en giltig e-postadress.' in html
    )
    assert 'aria-describedby="contact_email-error" aria-invalid="true"' in html
    assert "target-error" not in html
    assert f'<option value="project:{PROJECT}" selected>' in html
    assert 'value="kalle@"' in html


async def test_a_report_on_a_facility_the_account_may_not_use_is_an_error_at_the_choice(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    form = {"csrf_token": CSRF, "target": f"facility:{ORDER}", "description": "Det droppar"}
    reply = await customer.post("/faults/new", data=form)
    assert reply.status_code == 422
    assert '<small id="target-error" class="field-error">Kontrollera uppgifterna.' in reply.text


async def test_photos_go_to_the_report_made_and_one_refused_leaves_the_report(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("POST", "/api/faults", {"id": FAULT, "next_step": "order_created"})
    photos = f"/api/faults/{FAULT}/photos"
    portal.on("POST", photos, refusal(422, "invalid_photo"))
    form = {"csrf_token": CSRF, "target": f"facility:{FACILITY}", "description": "Läcker"}
    files = [("photos", (f"{i}.png", b"png", "image/png")) for i in range(2)]
    reply = await customer.post("/faults/new", data=form, files=files)
    left_out = "left_out=invalid_photo%3A0.png&left_out=invalid_photo%3A1.png"
    assert reply.headers["location"] == f"/faults/{FAULT}?sent=order&{left_out}"
    sent = [c.kw["files"]["photo"] for c in portal.made("POST", photos)]
    assert sent == [("0.png", b"png", "image/png"), ("1.png", b"png", "image/png")]


async def test_a_form_with_more_files_than_a_report_takes_is_refused_unread(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    form = {"csrf_token": CSRF, "target": f"facility:{FACILITY}", "description": "Sex"}
    files = [("photos", (f"{i}.png", b"png", "image/png")) for i in range(6)]
    assert (await customer.post("/faults/new", data=form, files=files)).status_code == 400
    assert portal.made("POST", "/api/faults") == []


async def test_a_wrong_current_password_is_said_beside_it(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    portal.on("POST", "/api/me/password", refusal(422, "wrong_password"))
    form = {"csrf_token": CSRF, "current_password": "fel", "new_password": "ett-nytt-losen"}
    reply = await customer.post("/account/password", data=form)
    assert reply.status_code == 422
    expected = '<small id="current_password-error" class="field-error">Nuvarande lösenord'
    assert expected in reply.text and "new_password-error" not in reply.text
    sent = portal.made("POST", "/api/me/password")[0].json
    assert sent == {"current_password": "fel", "new_password": "ett-nytt-losen"}


async def test_an_api_write_with_the_session_cookie_needs_the_csrf_header(
    customer: httpx.AsyncClient, portal: FakeServices
) -> None:
    reply = await customer.post("/api/faults", json={"description": "x"})
    assert reply.status_code == 403
    assert reply.json()["error"] == "csrf_failed"
    reply = await customer.post("/api/auth/logout", headers={"X-CSRF-Token": "forged"})
    assert reply.json()["error"] == "csrf_failed"
    assert portal.made("POST", "/internal/logout") == []


async def test_logging_in_leads_to_a_page_of_the_portal_only(
    visitor: httpx.AsyncClient, services: FakeServices
) -> None:
    services.on("POST", "/internal/login", {"token": "customer-token", "expires_in": 1800})
    form = {"csrf_token": CSRF, "username": "eva", "password": "hemligt", "next": "//evil.example"}
    reply = await visitor.post("/login", data=form)
    assert reply.headers["location"] == "/"
    assert "kundonline_session=customer-token" in reply.headers["set-cookie"]
    assert services.made("POST", "/internal/login")[0].json["realm"] == "account"
    services.on("POST", "/internal/login", refusal(401, "invalid_credentials"))
    fresh = visitor.cookies["kundonline_csrf"]  # a login gives the browser a new token
    reply = await visitor.post("/login", data={**form, "csrf_token": fresh, "next": "/orders"})
    assert reply.status_code == 401
    assert "Fel användarnamn eller lösenord." in reply.text
    assert 'name="next" value="/orders"' in reply.text and 'value="eva"' in reply.text
