"""The completion mail's one-click rating links: five, each signed for the order and its
reporter, good for the configured days from the completion; none without a secret."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from notify_fakes import FakeRepository
from pydantic import ValidationError
from test_notify_reporter import created, deliver, lifecycle, mails, reported

from kundonline_common import rating_links
from kundonline_contracts import FaultReported, OrderCreated, PortalSettings, PortalSettingsChanged
from kundonline_notify.config import NotifySettings
from kundonline_notify.rating import RatingLinks

SECRET = "r" * 48


async def completed_mail(
    repo: FakeRepository,
) -> tuple[str, str, tuple[OrderCreated, FaultReported]]:
    await deliver(
        repo,
        PortalSettingsChanged(settings=PortalSettings(public_url="https://portal.example/")),
        "kundonline/auth",
    )
    event = await reported(repo)
    order = created(event)
    await deliver(repo, order)
    await lifecycle(repo, order, "started", "completed")
    (mail,) = mails(repo, "order_completed")
    return mail.text_body, mail.html_body, (order, event)


async def test_the_completion_mail_carries_five_signed_links_one_per_score() -> None:
    repo = FakeRepository()
    repo.rating_links = RatingLinks(SECRET, timedelta(days=30))
    text, html, (order, event) = await completed_mail(repo)
    links = re.findall(r"https://portal\.example/rating/\S+", text)
    assert len(links) == 5
    assert "Hur gjorde vi?" in text
    for score, url in enumerate(links, start=1):
        parts = urlsplit(url)
        assert parts.path == f"/rating/{order.order_id}"
        query = parse_qs(parts.query)
        assert query["score"] == [str(score)]
        link = rating_links.read(
            SECRET,
            query["token"][0],
            order_id=order.order_id,
            now=order.created_at,
        )
        assert link.account_id == event.account_id
    assert html.count('href="https://portal.example/rating/') == 5
    assert "&amp;score=5" in html


async def test_without_a_secret_the_mail_has_no_rating_links() -> None:
    text, html, _ = await completed_mail(FakeRepository())
    assert "/rating/" not in text and "/rating/" not in html
    assert "Hur gjorde vi?" not in text


def test_a_short_rating_secret_stops_the_service_and_empty_means_off() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        NotifySettings(rating_link_secret="short")
    assert NotifySettings(rating_link_secret="").rating_links() is None
    days = NotifySettings(rating_link_secret=SECRET, rating_link_days=7)
    assert days.rating_links() == RatingLinks(SECRET, timedelta(days=7))
